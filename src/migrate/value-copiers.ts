// How each Redis type is read from the source and written to ringkv: the one
// table to extend as ringkv holds more types. A copier reads a key's value
// in the source pipeline, and from that reply writes it, with its remaining
// time to live, in the target pipeline; it answers undefined when the reply
// shows the key changed under the copy (deleted, or another type now).

import type { ChainableCommander } from 'ioredis';

/** One key's write to the target, sent again as it is if the target refuses the batch. */
export interface Write {
  send(target: ChainableCommander): void;
  /** The value bytes it writes, for the report. */
  readonly bytes: number;
}

/**
 * How a copied value is written: `overwrite` with SET (a copy made before
 * clients move), or `missing` with ringkv's IMPORT, written only where ringkv
 * holds no version of the key (a copy running after clients moved, beside
 * --read-through: a key they wrote or deleted through ringkv is newer).
 */
export type CopyMode = 'overwrite' | 'missing';

export interface ValueCopier {
  read(source: ChainableCommander, key: Buffer): void;
  /** The write of the value read, or undefined when the reply shows the key changed since its TYPE was read. */
  write(key: Buffer, reply: unknown, pttl: number, mode: CopyMode): Write | undefined;
}

const stringCopier: ValueCopier = {
  read(source, key) {
    source.getBuffer(key);
  },
  write(key, reply, pttl, mode) {
    if (!Buffer.isBuffer(reply)) return undefined;
    // PTTL -1: no expiry. A key due to expire in under a millisecond is written with 1 ms left rather than forever.
    if (mode === 'missing') {
      const args: (Buffer | string)[] = pttl >= 0 ? [key, reply, 'PXAT', String(Date.now() + Math.max(1, pttl))] : [key, reply];
      return { send: (target) => void target.call('IMPORT', ...args), bytes: reply.length };
    }
    const send = pttl >= 0
      ? (target: ChainableCommander) => void target.set(key, reply, 'PX', Math.max(1, pttl))
      : (target: ChainableCommander) => void target.set(key, reply);
    return { send, bytes: reply.length };
  },
};

/** By the source's TYPE reply. */
export const valueCopiers: Readonly<Record<string, ValueCopier>> = {
  string: stringCopier,
};
