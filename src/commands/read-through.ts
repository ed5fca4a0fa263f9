// The ringkv side of `--read-through` (the old Redis's side is
// migrate/read-through.ts): the one write that imports a value found in the
// old Redis, whatever its type. A string is an `imported` value; a
// collection is the first (and only) page of its type's IMPORT operation
// (crdt/import-operation.ts), stamped as imported. Either way the
// coordinator keeps it only where it holds no version of the key
// (KeyPresentError otherwise) and stamps it older than any ringkv write
// (coordinator/versioning.ts), so a key written or deleted through ringkv is
// never overwritten by the old copy. Pure: value in, mutation out.

import type { Mutation } from '../coordinator/versioning.js';
import type { ImportOperation } from '../crdt/import-operation.js';
import { encodeHashOperation } from '../crdt/hash-operations.js';
import { encodeListOperation } from '../crdt/list-operation.js';
import { encodeSetOperation } from '../crdt/set-operations.js';
import { encodeZsetOperation } from '../crdt/zset-operation.js';
import type { ReadThroughValue } from './types.js';

/** The write that imports `found` into ringkv: kept only where the key has no version, older than any ringkv write. */
export function importMutation(found: ReadThroughValue): Mutation {
  const expiry = found.expiresAt === undefined ? {} : { expiresAt: found.expiresAt };
  switch (found.type) {
    case 'string':
      return { kind: 'value', value: found.value, imported: true, ...expiry };
    case 'list':
      return { kind: 'operate', type: 'list', operation: encodeListOperation(page(found.items, expiry)), imported: true };
    case 'set':
      return { kind: 'operate', type: 'set', operation: encodeSetOperation(page(found.items, expiry)), imported: true };
    case 'hash':
      return { kind: 'operate', type: 'hash', operation: encodeHashOperation(page(found.entries, expiry)), imported: true };
    case 'zset':
      return { kind: 'operate', type: 'zset', operation: encodeZsetOperation(page(found.entries, expiry)), imported: true };
  }
}

/** A first page holding the whole value (no chain): the key then holds exactly these items, with the old expiry. */
function page<T>(items: readonly T[], expiry: { expiresAt?: number }): ImportOperation<T> {
  return { kind: 'import', imported: true, items, ...expiry };
}
