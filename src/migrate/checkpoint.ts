// A migration's progress on disk, so an interrupted `ringkv migrate` resumes
// where it stopped instead of starting over: the source's SCAN cursor after
// the last batch whose every key the target acknowledged, and the counts so
// far. Written after each batch to a temporary file and renamed over the
// old one, so a crash leaves either the old checkpoint or the new, never half
// of one. A batch in flight when the process died is copied again on resume
// (its writes replace what they wrote before: SET, IMPORT … REPLACE, and in
// `missing` mode IMPORT … OVER for a collection it was writing in pages,
// whose last page's token is saved after each page); no batch before it is.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const checkpointVersion = 1;

export interface Checkpoint {
  readonly version: typeof checkpointVersion;
  /** The source and target as endpointName gives them: a checkpoint resumes only the same copy. */
  readonly from: string;
  readonly to: string;
  /** SCAN's cursor to continue from ('0' with done false: not started). */
  readonly cursor: string;
  readonly done: boolean;
  /** Keys copied, by the source's TYPE. */
  readonly copied: Readonly<Record<string, number>>;
  /** Keys not copied, by reason. */
  readonly skipped: Readonly<Record<string, number>>;
  /** Value bytes copied. */
  readonly bytes: number;
  /** Wall-clock ms spent copying over every run so far (for the report's rate). */
  readonly elapsedMs: number;
  /**
   * A collection being written in IMPORT pages when this was saved, and the
   * last page's token: run again, the copy replaces those pages (IMPORT …
   * OVER token) instead of finding the key present (`missing` mode).
   */
  readonly inFlight?: InFlightKey;
}

/** Key and token, base64. */
export interface InFlightKey {
  readonly key: string;
  readonly token: string;
}

export class CheckpointError extends Error {
  readonly code = 'MIGRATE_CHECKPOINT';
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export function freshCheckpoint(from: string, to: string): Checkpoint {
  return { version: checkpointVersion, from, to, cursor: '0', done: false, copied: {}, skipped: {}, bytes: 0, elapsedMs: 0 };
}

/** The checkpoint at `file`, or undefined when there is none; one for another copy, or unreadable, is refused. */
export function loadCheckpoint(file: string, from: string, to: string): Checkpoint | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CheckpointError(`cannot read checkpoint ${file}: ${(err as Error).message}`);
  }
  let cp: Checkpoint;
  try {
    cp = JSON.parse(text) as Checkpoint;
  } catch {
    throw new CheckpointError(`checkpoint ${file} is not JSON: remove it to start over`);
  }
  if (cp === null || typeof cp !== 'object' || cp.version !== checkpointVersion || typeof cp.cursor !== 'string' || !/^\d+$/.test(cp.cursor)
    || typeof cp.done !== 'boolean' || typeof cp.bytes !== 'number' || typeof cp.copied !== 'object' || typeof cp.skipped !== 'object') {
    throw new CheckpointError(`checkpoint ${file} is not one this version of ringkv wrote: remove it to start over`);
  }
  if (cp.from !== from || cp.to !== to) {
    throw new CheckpointError(`checkpoint ${file} is of a copy from ${cp.from} to ${cp.to}, not from ${from} to ${to}: give another --checkpoint file or remove it`);
  }
  if (cp.inFlight !== undefined && (typeof cp.inFlight !== 'object' || cp.inFlight === null || typeof cp.inFlight.key !== 'string' || typeof cp.inFlight.token !== 'string')) {
    throw new CheckpointError(`checkpoint ${file} is not one this version of ringkv wrote: remove it to start over`);
  }
  return { ...cp, elapsedMs: typeof cp.elapsedMs === 'number' ? cp.elapsedMs : 0 };
}

export function saveCheckpoint(file: string, cp: Checkpoint): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const temp = `${file}.tmp`;
  writeFileSync(temp, `${JSON.stringify(cp, null, 2)}\n`);
  renameSync(temp, file);
}
