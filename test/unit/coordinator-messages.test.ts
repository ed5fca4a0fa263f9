// The coordinator's peer messages defend themselves as the client edge does:
// a forwarded write (CoordinatePut) is checked as strictly as `SET … PXAT …
// VCLOCK …` from a client, its reply carries every typed failure back as the
// same error, and the replica messages' decoders turn any bytes into either a
// well-formed record or a CodecError — never another exception, which would
// surface as an unexplained failure (or, off a promise, end the process).

import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { ContextError, contextEntriesMax, type ContextErrorCode } from '../../src/clock/context.js';
import { encodeSiblings } from '../../src/clock/record-codec.js';
import type { ClockEntry, Sibling } from '../../src/clock/types.js';
import { NotReplicaError, QuorumError, RecordTooLargeError, SiblingLimitError } from '../../src/coordinator/errors.js';
import {
  decodeCoordinatePut,
  decodeCoordinatePutReply,
  decodeKeysScan,
  decodeKeysScanReply,
  encodeCoordinatePut,
  encodeCoordinatePutReply,
  type CoordinatePutRequest,
} from '../../src/coordinator/messages.js';
import { decodeReplicaGetReply, decodeReplicaPut, encodeReplicaGetReply, encodeReplicaPut } from '../../src/coordinator/replica-messages.js';
import { CodecError, encodeControl } from '../../src/peer/codec.js';
import { TypeOperationError, typeOperationErrorCodes } from '../../src/crdt/operation.js';

// Independent of the code under test: the limits as the design states them.
const counterMax = 2 ** 52;
const actorBytesMax = 255;
const forwardedWMax = 64;
// Redis's long long ms (LLONG_MAX), as a double: 2^63.
const expiresAtMsMax = 2 ** 63;

/** A clock as every decoder must leave it: sorted distinct actors of 1-255 UTF-8 bytes, counters 1..2^52. */
function isWellFormedClock(clock: readonly ClockEntry[]): boolean {
  return clock.every(
    (e, i) =>
      typeof e.actor === 'string' &&
      e.actor.length > 0 &&
      Buffer.byteLength(e.actor) <= actorBytesMax &&
      (i === 0 || clock[i - 1]!.actor < e.actor) &&
      Number.isSafeInteger(e.counter) &&
      e.counter >= 1 &&
      e.counter <= counterMax,
  );
}

function isWellFormedRequest(request: CoordinatePutRequest): boolean {
  const { key, mutation, w, context } = request;
  if (!Buffer.isBuffer(key) || !Number.isInteger(w) || w < 1 || w > forwardedWMax) return false;
  if (mutation.kind === 'value') {
    if (!Buffer.isBuffer(mutation.value)) return false;
    const x = mutation.expiresAt;
    if (x !== undefined && !(Number.isInteger(x) && x >= 0 && x <= expiresAtMsMax)) return false;
  } else if (mutation.kind !== 'delete') return false;
  return context === undefined || (Array.isArray(context) && context.length <= contextEntriesMax && isWellFormedClock(context));
}

function isWellFormedSibling(s: Sibling): boolean {
  const dotOk = isWellFormedClock([s.dot]);
  const pastOk = isWellFormedClock(s.past) && !s.past.some((e) => e.actor === s.dot.actor && e.counter >= s.dot.counter);
  const timesOk = Number.isFinite(s.timestamp) && (s.expiresAt === undefined || Number.isFinite(s.expiresAt));
  return Buffer.isBuffer(s.value) && dotOk && pastOk && timesOk && (s.deleted === undefined || s.deleted === true);
}

/** Runs `decode`; anything thrown but a CodecError fails the property with what was thrown. */
function decodedOrCodecError<T>(decode: () => T): T | CodecError {
  try {
    return decode();
  } catch (error) {
    if (error instanceof CodecError && error.code === 'CODEC_MALFORMED') return error;
    throw new Error(`threw ${(error as Error)?.name}: ${(error as Error)?.message}`, { cause: error });
  }
}

const key = Buffer.from('user:1');
const value = Buffer.from('hello');
/** The wire shape of a valid forwarded write (messages.ts WireCoordinatePut), to corrupt one field at a time. */
const validWire = { k: key, v: value, x: 1_900_000_000_000, w: 2, c: [['a#1', 3], ['b#1', 7]] as [string, number][] };

function codecError(t: ExecutionContext, decode: () => unknown, what: string): void {
  let thrown: unknown;
  try {
    decode();
  } catch (error) {
    thrown = error;
  }
  t.true(thrown instanceof CodecError, `${what}: ${thrown === undefined ? 'accepted' : `threw ${String(thrown)}`}`);
}

// --- CoordinatePut: round trips --------------------------------------------

const actorArb = fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom('node-a#0a1b2c3d', 'é'.repeat(127), 'x'.repeat(actorBytesMax)));
const clockArb: fc.Arbitrary<ClockEntry[]> = fc
  .uniqueArray(actorArb, { maxLength: 6 })
  .chain((actors) => fc.tuple(...[...actors].sort().map((actor) => fc.record({ actor: fc.constant(actor), counter: fc.integer({ min: 1, max: counterMax }) }))));
const requestArb: fc.Arbitrary<CoordinatePutRequest> = fc.record({
  key: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
  mutation: fc.oneof(
    fc.constant({ kind: 'delete' as const }),
    fc.record({ kind: fc.constant('value' as const), value: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) }),
    fc.record({
      kind: fc.constant('value' as const),
      value: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
      expiresAt: fc.oneof(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.bigInt({ min: 0n, max: 2n ** 63n }).map(Number)),
    }),
  ),
  w: fc.integer({ min: 1, max: forwardedWMax }),
  context: fc.option(clockArb, { nil: undefined }),
});

test('coordinator messages › a forwarded write round-trips: values, expiries, deletes, with and without a context (property)', (t) => {
  fc.assert(
    fc.property(requestArb, (request) => {
      const decoded = decodeCoordinatePut(encodeCoordinatePut(request));
      t.deepEqual(decoded, request);
    }),
    { seed: 7, numRuns: 300 },
  );
});

test('coordinator messages › a forwarded write at the limits is accepted: W 1 and 64, expiry 0, 2^60 and 2^63, counter 2^52, a 255-byte actor, contextEntriesMax entries, an empty context', (t) => {
  const entries: [string, number][] = Array.from({ length: contextEntriesMax }, (_, i) => [`n${String(i).padStart(5, '0')}#x`, 1]);
  const accepted: Array<[string, Record<string, unknown>]> = [
    ['W 1', { w: 1 }],
    ['W 64', { w: 64 }],
    ['expiry 0', { x: 0 }],
    ['expiry 2^60', { x: 2 ** 60 }],
    ['expiry 2^63 (LLONG_MAX as a double)', { x: expiresAtMsMax }],
    ['counter 2^52', { c: [['a#1', counterMax]] }],
    ['a 255-byte actor', { c: [['é'.repeat(127) + 'x', 1]] }],
    ['contextEntriesMax entries', { c: entries }],
    ['an empty context', { c: [] }],
  ];
  for (const [what, override] of accepted) {
    const request = decodedOrCodecError(() => decodeCoordinatePut(encodeControl({ ...validWire, ...override })));
    t.false(request instanceof CodecError, `${what}: ${String(request)}`);
    if (!(request instanceof CodecError)) t.true(isWellFormedRequest(request), what);
  }
});

// --- CoordinatePut: what a peer may not send --------------------------------

const refused: Array<[string, unknown]> = [
  ['W 0', { ...validWire, w: 0 }],
  ['W 65', { ...validWire, w: 65 }],
  ['W -1', { ...validWire, w: -1 }],
  ['W 1.5', { ...validWire, w: 1.5 }],
  ['W NaN', { ...validWire, w: NaN }],
  ['W Infinity', { ...validWire, w: Infinity }],
  ['W as a string', { ...validWire, w: '2' }],
  ['W missing', { k: key, v: value }],
  ['a negative expiry', { ...validWire, x: -1 }],
  ['a fractional expiry', { ...validWire, x: 1_900_000_000_000.5 }],
  ['an expiry past 2^63', { ...validWire, x: 2 ** 64 }],
  ['an infinite expiry', { ...validWire, x: Infinity }],
  ['an expiry as a string', { ...validWire, x: '1900000000000' }],
  ['an expiry NaN', { ...validWire, x: NaN }],
  ['a context with unsorted actors', { ...validWire, c: [['b#1', 1], ['a#1', 1]] }],
  ['a context with a duplicate actor', { ...validWire, c: [['a#1', 1], ['a#1', 2]] }],
  ['a counter of 0', { ...validWire, c: [['a#1', 0]] }],
  ['a negative counter', { ...validWire, c: [['a#1', -3]] }],
  ['a counter over 2^52', { ...validWire, c: [['a#1', counterMax + 1]] }],
  ['a fractional counter', { ...validWire, c: [['a#1', 1.5]] }],
  ['a counter as a string', { ...validWire, c: [['a#1', '1']] }],
  ['an actor id over 255 bytes (128 two-byte characters)', { ...validWire, c: [['é'.repeat(128), 1]] }],
  ['an empty actor id', { ...validWire, c: [['', 1]] }],
  ['an actor id that is not a string', { ...validWire, c: [[7, 1]] }],
  ['more than contextEntriesMax entries', { ...validWire, c: Array.from({ length: contextEntriesMax + 1 }, (_, i) => [`n${String(i).padStart(5, '0')}#x`, 1]) }],
  ['a context entry of three fields', { ...validWire, c: [['a#1', 1, 2]] }],
  ['a context entry that is not an array', { ...validWire, c: [{ actor: 'a#1', counter: 1 }] }],
  ['a context that is not an array', { ...validWire, c: { 'a#1': 1 } }],
  ['a context that is a string', { ...validWire, c: 'a#1:1' }],
  ['a key that is a string', { ...validWire, k: 'user:1' }],
  ['no key', { v: value, w: 2 }],
  ['neither a value nor a delete', { k: key, w: 2 }],
  ['a value that is a string', { k: key, v: 'hello', w: 2 }],
  ['a delete flag that is not true, and no value', { k: key, d: 1, w: 2 }],
  ['an array', [key, value, 2]],
  ['a number', 42],
  ['a string', 'SET user:1 hello'],
  ['nil', null],
  ['a bare Buffer', value],
];

for (const [what, wire] of refused) {
  test(`coordinator messages › a forwarded write with ${what} is a CodecError`, (t) => {
    codecError(t, () => decodeCoordinatePut(encodeControl(wire)), what);
  });
}

test('coordinator messages › an empty or truncated forwarded write is a CodecError', (t) => {
  const payload = encodeControl(validWire);
  for (let cut = 0; cut < payload.length; cut++) codecError(t, () => decodeCoordinatePut(payload.subarray(0, cut)), `cut at ${cut}`);
});

/** Mostly the valid kind of value, sometimes anything: so a record is often one or two fields away from valid. */
function mostly<T>(valid: fc.Arbitrary<T>, ...others: fc.Arbitrary<unknown>[]): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 3 * others.length, arbitrary: valid }, ...others.map((arbitrary) => ({ weight: 1, arbitrary })));
}

/** Anything, and in particular near-valid forwarded writes with one or more fields of the wrong kind. */
const nearValidWire = fc.record(
  {
    k: mostly(fc.constant(key), fc.string(), fc.anything()),
    d: mostly(fc.constant(true), fc.anything()),
    v: mostly(fc.constant(value), fc.anything()),
    x: mostly(fc.integer({ min: -10, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(2 ** 63, 2 ** 64), fc.double(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), fc.anything()),
    w: mostly(fc.integer({ min: -2, max: 70 }), fc.double(), fc.anything()),
    c: mostly(
      clockArb.map((clock) => clock.map((e) => [e.actor, e.counter])),
      fc.array(fc.tuple(fc.string({ maxLength: 3 }), fc.oneof(fc.integer({ min: -1, max: 3 }), fc.double(), fc.constant(counterMax + 1))), { maxLength: 4 }),
      fc.array(fc.anything(), { maxLength: 3 }),
      fc.anything(),
    ),
  },
  { requiredKeys: [] },
);
const garbage = fc.oneof(
  { weight: 3, arbitrary: nearValidWire },
  {
    weight: 1,
    arbitrary: fc.anything({ withBoxedValues: true, withMap: true, withSet: true, withObjectString: true, withNullPrototype: true, withSparseArray: true, withTypedArray: true, withBigInt: true, withDate: true }),
  },
);

/** encodeControl of what msgpack cannot carry (a bigint past 64 bits, a Set…) throws: such values never reach a peer. */
function encodable(wire: unknown): Buffer | undefined {
  try {
    return encodeControl(wire);
  } catch {
    return undefined;
  }
}

test('coordinator messages › anything a peer can send decodes to a well-formed forwarded write or a CodecError, nothing else (property)', (t) => {
  let accepted = 0;
  let rejected = 0;
  fc.assert(
    fc.property(garbage, (wire) => {
      const payload = encodable(wire);
      fc.pre(payload !== undefined);
      const request = decodedOrCodecError(() => decodeCoordinatePut(payload!));
      if (request instanceof CodecError) rejected++;
      else {
        accepted++;
        if (!isWellFormedRequest(request)) throw new Error(`accepted an ill-formed request: ${String(request)}`);
      }
    }),
    { seed: 11, numRuns: 5000 },
  );
  t.log(`${accepted} accepted, ${rejected} refused`);
  t.true(accepted > 200 && rejected > 200, `the garbage reaches both outcomes (${accepted} accepted, ${rejected} refused)`);
});

// --- CoordinatePut reply ----------------------------------------------------

const stored: Sibling[] = [
  { value: Buffer.from('v1'), dot: { actor: 'a#1', counter: 4 }, past: [{ actor: 'a#1', counter: 3 }, { actor: 'b#1', counter: 2 }], timestamp: 1_700_000_000_000 },
  { value: Buffer.from('v2'), dot: { actor: 'b#1', counter: 3 }, past: [], timestamp: 1_700_000_000_001, expiresAt: 1_800_000_000_000 },
  { value: Buffer.alloc(0), dot: { actor: 'c#1', counter: 1 }, past: [{ actor: 'a#1', counter: 1 }], timestamp: 1_700_000_000_002, deleted: true },
];

const counterVersion: Sibling = { value: Buffer.from([1, 0, 0, 0, 0, 0]), dot: { actor: 'a#1', counter: 5 }, past: [{ actor: 'a#1', counter: 4 }], timestamp: 1_700_000_000_003, type: 'counter' };

test('coordinator messages › a forwarded write\'s success reply round-trips the stored record and the version it made', (t) => {
  t.deepEqual(decodeCoordinatePutReply(encodeCoordinatePutReply({ stored, version: stored[0]! })), { stored, version: stored[0]! });
  t.deepEqual(decodeCoordinatePutReply(encodeCoordinatePutReply({ stored: [counterVersion], version: counterVersion, hintedOnly: true })), { stored: [counterVersion], version: counterVersion, hintedOnly: true });
  // An operation's outcome (SADD's count, SPOP's members) comes back with the version.
  const outcome = Buffer.from([2, 1, 0x61]);
  t.deepEqual(decodeCoordinatePutReply(encodeCoordinatePutReply({ stored, version: stored[0]!, outcome })), { stored, version: stored[0]!, outcome });
  const bad = encodeControl({ ok: true, s: encodeSiblings(stored), v: encodeSiblings([stored[0]!]), o: 'text' });
  t.throws(() => decodeCoordinatePutReply(bad), { instanceOf: CodecError, message: /outcome/ });
});

test('coordinator messages › a forwarded operation and a typed value round-trip; an unknown type is refused', (t) => {
  const operate = { key: Buffer.from('k'), w: 2, context: undefined, mutation: { kind: 'operate' as const, type: 'counter' as const, operation: Buffer.from([1, 0x31]) } };
  t.deepEqual(decodeCoordinatePut(encodeCoordinatePut(operate)), operate);
  const typed = { key: Buffer.from('k'), w: 1, context: undefined, mutation: { kind: 'value' as const, value: Buffer.from([1, 0]), type: 'counter' as const, expiresAt: 5 } };
  t.deepEqual(decodeCoordinatePut(encodeCoordinatePut(typed)), typed);
  const forged = encodeControl({ k: Buffer.from('k'), w: 1, o: Buffer.from([1]), t: 'blob' });
  t.throws(() => decodeCoordinatePut(forged), { instanceOf: CodecError });
});

for (const code of typeOperationErrorCodes) {
  test(`coordinator messages › a forwarded operation's refusal ${code} comes back as the same TypeOperationError`, (t) => {
    const error = t.throws(() => decodeCoordinatePutReply(encodeCoordinatePutReply(new TypeOperationError(code))));
    t.true(error instanceof TypeOperationError);
    t.is((error as TypeOperationError).code, code);
  });
}

const contextCodes: ContextErrorCode[] = ['CONTEXT_MALFORMED', 'CONTEXT_FOREIGN', 'CONTEXT_IMPLAUSIBLE', 'CONTEXT_TOO_LARGE'];
const typedErrors: Error[] = [
  new QuorumError('write', 2, 1, 3, false),
  new QuorumError('write', 3, 0, 3, true),
  new QuorumError('read', 2, 1, 3, true),
  new SiblingLimitError(101, 100),
  new RecordTooLargeError(80 * 1024 * 1024, 64 * 1024 * 1024 - 64 * 1024),
  new NotReplicaError('node-d'),
  ...contextCodes.map((code) => new ContextError(code, `context refused: ${code.toLowerCase()}`)),
];

for (const error of typedErrors) {
  const label = error instanceof ContextError ? `ContextError ${error.code}` : `${error.name} (${error.message})`;
  test(`coordinator messages › the reply carries ${label} back as the same typed error`, (t) => {
    const payload = encodeCoordinatePutReply(error);
    let thrown: unknown;
    try {
      decodeCoordinatePutReply(payload);
    } catch (e) {
      thrown = e;
    }
    t.is((thrown as Error)?.constructor, error.constructor, String(thrown));
    const { stack: _a, ...fields } = Object.assign({}, error, { message: error.message, name: error.name });
    const { stack: _b, ...decoded } = Object.assign({}, thrown as Error, { message: (thrown as Error).message, name: (thrown as Error).name });
    t.deepEqual(decoded, fields);
    t.is((thrown as { code?: string }).code, (error as unknown as { code: string }).code);
  });
}

test('coordinator messages › an error the reply has no form for is not sent as one: encoding rethrows it', (t) => {
  const unexpected = new Error('disk on fire');
  t.is(t.throws(() => encodeCoordinatePutReply(unexpected)), unexpected);
});

test('coordinator messages › a reply with an unknown code, or a context error with an unknown reason, is a CodecError', (t) => {
  codecError(t, () => decodeCoordinatePutReply(encodeControl({ ok: false, code: 'DISK_ON_FIRE' })), 'unknown code');
  codecError(t, () => decodeCoordinatePutReply(encodeControl({ ok: false, code: 'CONTEXT', reason: 'CONTEXT_LOST', message: 'x' })), 'unknown reason');
  codecError(t, () => decodeCoordinatePutReply(encodeControl({ ok: 'yes' })), 'ok not a boolean');
  codecError(t, () => decodeCoordinatePutReply(encodeControl(null)), 'nil');
  codecError(t, () => decodeCoordinatePutReply(Buffer.alloc(0)), 'empty');
});

// Found by these tests (and fixed): the success reply's record was decoded
// without catching the record codec's errors, and the typed errors were
// rebuilt from fields nobody checked.
test('coordinator messages › a success reply without a record, or with a malformed one, is a CodecError', (t) => {
  codecError(t, () => decodeCoordinatePutReply(encodeControl({ ok: true })), 'no record');
  codecError(t, () => decodeCoordinatePutReply(encodeControl({ ok: true, s: Buffer.from([2, 0, 1]) })), 'truncated record');
  codecError(t, () => decodeCoordinatePutReply(encodeControl({ ok: true, s: 'x' })), 'record as a string');
});

test('coordinator messages › a typed failure with fields of the wrong kind is a CodecError, not an error built from undefined', (t) => {
  codecError(t, () => decodeCoordinatePutReply(encodeControl({ ok: false, code: 'NOQUORUM' })), 'NOQUORUM without its counts');
  codecError(t, () => decodeCoordinatePutReply(encodeControl({ ok: false, code: 'NOQUORUM', n: 2, a: 1, asked: 3, t: false, op: 'delete' })), 'NOQUORUM of an unknown operation');
  codecError(t, () => decodeCoordinatePutReply(encodeControl({ ok: false, code: 'SIBLINGS_MAX', siblings: 'many', limit: 100 })), 'SIBLINGS_MAX with a string');
  codecError(t, () => decodeCoordinatePutReply(encodeControl({ ok: false, code: 'RECORD_TOO_LARGE' })), 'RECORD_TOO_LARGE without sizes');
  codecError(t, () => decodeCoordinatePutReply(encodeControl({ ok: false, code: 'NOT_REPLICA' })), 'NOT_REPLICA without a node');
});

test('coordinator messages › anything a peer can send as a reply decodes to a record, a typed error or a CodecError, nothing else (property)', (t) => {
  const typed = [QuorumError, SiblingLimitError, RecordTooLargeError, NotReplicaError, ContextError];
  const replyWire = fc.oneof(
    fc.record({ ok: fc.oneof(fc.boolean(), fc.anything()), s: fc.oneof(fc.constant(encodeReplicaGetReply(stored)), fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)), fc.anything()) }, { requiredKeys: [] }),
    fc.record({ ok: fc.constant(false), code: fc.constantFrom('NOQUORUM', 'SIBLINGS_MAX', 'RECORD_TOO_LARGE', 'NOT_REPLICA', 'CONTEXT'), n: fc.anything(), a: fc.anything(), asked: fc.anything(), t: fc.anything(), op: fc.anything(), siblings: fc.anything(), limit: fc.anything(), bytes: fc.anything(), node: fc.anything(), reason: fc.anything(), message: fc.anything() }, { requiredKeys: ['ok', 'code'] }),
    fc.anything(),
  );
  fc.assert(
    fc.property(replyWire, (wire) => {
      const payload = encodable(wire);
      fc.pre(payload !== undefined);
      try {
        const reply = decodeCoordinatePutReply(payload!);
        if (!reply.stored.every(isWellFormedSibling)) throw new Error('accepted an ill-formed record');
      } catch (error) {
        if (error instanceof CodecError) return;
        if (!typed.some((type) => error instanceof type)) throw error;
        for (const field of Object.values(error as object)) if (field === undefined) throw new Error(`${String(error)} has an undefined field`);
      }
    }),
    { seed: 13, numRuns: 2000 },
  );
  t.pass();
});

// --- Replica messages -------------------------------------------------------

const replicaPut = encodeReplicaPut(key, stored, 'node-c');
const replicaGetReply = encodeReplicaGetReply(stored);

test('coordinator messages › a replica write or read reply cut anywhere is a CodecError', (t) => {
  for (let cut = 0; cut < replicaPut.length; cut++) codecError(t, () => decodeReplicaPut(replicaPut.subarray(0, cut)), `ReplicaPut cut at ${cut}`);
  for (let cut = 0; cut < replicaGetReply.length; cut++) codecError(t, () => decodeReplicaGetReply(replicaGetReply.subarray(0, cut)), `ReplicaGetReply cut at ${cut}`);
});

/** A valid encoding with a few bytes overwritten, inserted or removed: damage that gets past the first byte. */
function damaged(valid: Buffer): fc.Arbitrary<Buffer> {
  const edit = fc.record({ at: fc.nat({ max: valid.length }), byte: fc.integer({ min: 0, max: 255 }), kind: fc.constantFrom('set', 'insert', 'remove') });
  return fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => {
    let buf = Buffer.from(valid);
    for (const { at, byte, kind } of edits) {
      const i = Math.min(at, buf.length - 1);
      if (kind === 'set') buf[i] = byte;
      else if (kind === 'insert') buf = Buffer.concat([buf.subarray(0, i), Buffer.from([byte]), buf.subarray(i)]);
      else buf = Buffer.concat([buf.subarray(0, i), buf.subarray(i + 1)]);
    }
    return buf;
  });
}

test('coordinator messages › damaged or random replica messages decode to a well-formed record or a CodecError, nothing else (property)', (t) => {
  let accepted = 0;
  const input = fc.oneof(damaged(replicaPut), damaged(replicaGetReply), fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)));
  fc.assert(
    fc.property(input, (buf) => {
      for (const decode of [(b: Buffer) => decodeReplicaPut(b).siblings, decodeReplicaGetReply]) {
        const record = decodedOrCodecError(() => decode(buf));
        if (record instanceof CodecError) continue;
        accepted++;
        if (!record.every(isWellFormedSibling)) throw new Error(`accepted an ill-formed record from ${buf.toString('hex')}`);
      }
    }),
    { seed: 17, numRuns: 3000 },
  );
  t.log(`${accepted} damaged messages decoded`);
  t.true(accepted > 50, `some damage still decodes (${accepted}), so the well-formedness check is exercised`);
});

// Found by these tests (and fixed): readActor decoded actor ids with Buffer's
// lossy UTF-8 decoder, so distinct byte strings became the same actor (two
// writers' dots collide) and 255 invalid bytes became a 765-byte id that the
// encoder then refused: the replica failed every later write of that key.
test('coordinator messages › an actor id that is not UTF-8 is a CodecError, as it is in a client\'s context', (t) => {
  const sibling: Sibling = { value: Buffer.from('v'), dot: { actor: 'A'.repeat(200), counter: 1 }, past: [], timestamp: 1 };
  const reply = encodeReplicaGetReply([sibling]);
  const at = reply.indexOf(Buffer.from('A'.repeat(200)));
  const invalid = Buffer.from(reply).fill(0xff, at, at + 200);
  codecError(t, () => decodeReplicaGetReply(invalid), '200 bytes of 0xff as an actor id');
  const put = encodeReplicaPut(key, [{ ...sibling, dot: { actor: 'x', counter: 1 } }]);
  const lone = Buffer.from(put);
  lone[put.indexOf(Buffer.from('x'), 5 + key.length)] = 0xfe;
  codecError(t, () => decodeReplicaPut(lone), 'a lone 0xfe as an actor id');
});

test('coordinator messages › keyspace pages refuse tokens outside [0, 2^64) and malformed records with CodecError', (t) => {
  const record = encodeSiblings([]);
  for (const token of ['abc', '-1', '18446744073709551616', '']) {
    codecError(t, () => decodeKeysScanReply(encodeControl({ e: [[Buffer.from('k'), token, record]], m: false })), `token ${JSON.stringify(token)}`);
  }
  codecError(t, () => decodeKeysScanReply(encodeControl({ e: [[Buffer.from('k'), '1', Buffer.from([2, 0, 1])]], m: false })), 'truncated record');
  codecError(t, () => decodeKeysScan(encodeControl({ f: '18446744073709551616', l: 10 })), 'from above 2^64');
  t.deepEqual(decodeKeysScanReply(encodeControl({ e: [[Buffer.from('k'), '18446744073709551615', record]], m: true })).entries[0]!.token, (1n << 64n) - 1n);
});

test('CoordinatePut carries STRICT and the fallback flag; a flag that is not `true` is refused', (t) => {
  const base = { key: Buffer.from('k'), mutation: { kind: 'delete' as const }, w: 2, context: undefined };
  t.is(decodeCoordinatePut(encodeCoordinatePut({ ...base, strict: true })).strict, true);
  t.is(decodeCoordinatePut(encodeCoordinatePut({ ...base, fallback: true })).fallback, true);
  t.is(decodeCoordinatePut(encodeCoordinatePut(base)).fallback, undefined);
  t.throws(() => decodeCoordinatePut(encodeControl({ k: Buffer.from('k'), d: true, w: 2, f: 1 })), { instanceOf: CodecError });
});
