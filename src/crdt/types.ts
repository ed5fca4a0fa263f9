// Every convergent type this node knows, registered with the registry
// (registry.ts) when this module loads. Whatever reads or writes typed
// versions imports it once (the coordinator does), so a node never meets a
// type it could have known but did not load.

import { applyCounterOperation, counterText, counterType, counterValue, decodeCounterOperation, parseLongLong, type CounterOperation, type CounterState } from './counter.js';
import { registerType } from './registry.js';
import { card as zsetCard, zsetType, type ZsetState } from './zset.js';
import { applyZsetOperation, decodeZsetOperation } from './zset-operation.js';
import { length as listLength, listType, type ListState } from './list.js';
import { applyListOperation, decodeListOperation } from './list-operation.js';
import { setType, size as setSize, type SetState } from './set.js';
import { applySetOperation, decodeSetOperation, setEncoding, type SetOperation } from './set-operations.js';
import { fieldCount, hashType, type HashState } from './hash.js';
import { applyHashOperation, decodeHashOperation, hashEncoding, type HashOperation } from './hash-operations.js';

/** Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT: longer strings are "raw". */
const embstrBytesMax = 44;
const int64Max = (1n << 63n) - 1n;
const int64Min = -(1n << 63n);

/** Redis's answer for the string a counter shows: "int" when it fits a long (as INCR's results are), else by length. */
export function counterEncoding(state: CounterState): string {
  const value = counterValue(state);
  if (value.e === 0 && value.m <= int64Max && value.m >= int64Min) return 'int';
  return counterText(state).length <= embstrBytesMax ? 'embstr' : 'raw';
}

registerType<CounterState>({
  convergent: counterType,
  redisType: 'string',
  objectEncoding: counterEncoding,
  stringForm: (state) => Buffer.from(counterText(state), 'latin1'),
  // The outcome is the value the new state shows: INCR's reply, without decoding the version just encoded.
  // A command's own operation is taken as it built it (commands/counters.ts); a forwarded one is decoded.
  apply: (view, operation, writer, decoded) => {
    const state = applyCounterOperation(view, (decoded as CounterOperation | undefined) ?? decodeCounterOperation(operation), writer);
    return { state, outcome: Buffer.from(counterText(state), 'latin1') };
  },
});

// Sets (set.ts, set-operations.ts) ------------------------------------------
registerType<SetState>({
  convergent: setType,
  redisType: 'set',
  objectEncoding: (state) => setEncoding(state, (member) => parseLongLong(Buffer.from(member, 'latin1')) !== undefined),
  isEmpty: (state) => setSize(state) === 0,
  // A command's own operation is taken as it built it: add and remove copy the members they keep (as latin1 keys).
  apply: (view, operation, writer, decoded) => applySetOperation(view, (decoded as SetOperation | undefined) ?? decodeSetOperation(operation), writer),
});

// Hashes (hash.ts, hash-operations.ts) --------------------------------------
registerType<HashState>({
  convergent: hashType,
  redisType: 'hash',
  objectEncoding: hashEncoding,
  isEmpty: (state) => fieldCount(state) === 0,
  // A command's own operation is taken as it built it: fields become latin1 keys, and values are copied where kept.
  apply: (view, operation, writer, decoded) => applyHashOperation(view, (decoded as HashOperation | undefined) ?? decodeHashOperation(operation), writer),
});

// Sorted sets (zset.ts, zset-operation.ts) -----------------------------------------

/** Redis's zset-max-listpack-entries default: past it Redis holds a sorted set as a skiplist. */
const zsetListpackEntriesMax = 128;

registerType<ZsetState>({
  convergent: zsetType,
  redisType: 'zset',
  // zset-max-listpack-value (64 bytes) is not judged: it would need every member's length.
  objectEncoding: (state) => (zsetCard(state) <= zsetListpackEntriesMax ? 'listpack' : 'skiplist'),
  apply: (view, operation, writer) => applyZsetOperation(view, decodeZsetOperation(operation), writer),
  isEmpty: (state) => zsetCard(state) === 0,
});

// Lists (list.ts, list-operation.ts) -------------------------------------------------

registerType<ListState>({
  convergent: listType,
  redisType: 'list',
  // Redis 7.0 holds every list as a quicklist of listpacks.
  objectEncoding: () => 'quicklist',
  apply: (view, operation, writer) => applyListOperation(view, decodeListOperation(operation), writer),
  isEmpty: (state) => listLength(state) === 0,
});
