// ReplyBuffer: every reply kind as exact RESP2 and RESP3 bytes (checked
// against redis-server 7.0.15), doubles as Redis formats them, and RESP2
// output decoded by an independent parser (the redis-parser package).

import test from 'ava';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { formatDouble, ReplyBuffer } from '../../src/resp/encoder.js';
import {
  BooleanReply,
  DoubleReply,
  EMPTY_ARRAY,
  ErrorReply,
  MapReply,
  NULL_ARRAY,
  OK,
  PONG,
  PushReply,
  QUEUED,
  type Reply,
  ReplySequence,
  SetReply,
  SimpleReply,
  VerbatimReply,
} from '../../src/resp/reply.js';

const seed = 20240611;

function encode(reply: Reply, protocol: 2 | 3): string {
  const buffer = new ReplyBuffer();
  buffer.write(reply, protocol);
  return buffer.take().toString('latin1');
}

const utf8AsLatin1 = (text: string): string => Buffer.from(text).toString('latin1');

const vectors: [name: string, reply: Reply, resp2: string, resp3: string][] = [
  ['+OK', OK, '+OK\r\n', '+OK\r\n'],
  ['+PONG', PONG, '+PONG\r\n', '+PONG\r\n'],
  ['+QUEUED', QUEUED, '+QUEUED\r\n', '+QUEUED\r\n'],
  ['simple', new SimpleReply('string'), '+string\r\n', '+string\r\n'],
  ['simple with CR/LF', new SimpleReply('a\r\nb'), '+a  b\r\n', '+a  b\r\n'],
  ['error', new ErrorReply('ERR syntax error'), '-ERR syntax error\r\n', '-ERR syntax error\r\n'],
  ['error with CR/LF', new ErrorReply('MY a\r\nb\n'), '-MY a  b\r\n', '-MY a  b\r\n'],
  ['integer 0', 0, ':0\r\n', ':0\r\n'],
  ['integer 9999', 9999, ':9999\r\n', ':9999\r\n'],
  ['integer 10000', 10000, ':10000\r\n', ':10000\r\n'],
  ['integer -1', -1, ':-1\r\n', ':-1\r\n'],
  ['integer max safe', Number.MAX_SAFE_INTEGER, ':9007199254740991\r\n', ':9007199254740991\r\n'],
  ['integer min safe', Number.MIN_SAFE_INTEGER, ':-9007199254740991\r\n', ':-9007199254740991\r\n'],
  ['bulk buffer', Buffer.from('a\r\n\0b', 'latin1'), '$5\r\na\r\n\0b\r\n', '$5\r\na\r\n\0b\r\n'],
  ['empty bulk', Buffer.alloc(0), '$0\r\n\r\n', '$0\r\n\r\n'],
  ['bulk string', 'hello', '$5\r\nhello\r\n', '$5\r\nhello\r\n'],
  ['bulk string UTF-8', 'héllo ✓', `$10\r\n${utf8AsLatin1('héllo ✓')}\r\n`, `$10\r\n${utf8AsLatin1('héllo ✓')}\r\n`],
  ['long bulk string', 'x'.repeat(100), `$100\r\n${'x'.repeat(100)}\r\n`, `$100\r\n${'x'.repeat(100)}\r\n`],
  ['nil', null, '$-1\r\n', '_\r\n'],
  ['null array', NULL_ARRAY, '*-1\r\n', '_\r\n'],
  ['empty array', EMPTY_ARRAY, '*0\r\n', '*0\r\n'],
  ['nested array', [1, ['a', null], OK], '*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n+OK\r\n', '*3\r\n:1\r\n*2\r\n$1\r\na\r\n_\r\n+OK\r\n'],
  ['map', new MapReply([['maxmemory', '0'], ['n', 1]]), '*4\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n$1\r\nn\r\n:1\r\n', '%2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n$1\r\nn\r\n:1\r\n'],
  ['empty map', new MapReply([]), '*0\r\n', '%0\r\n'],
  ['set', new SetReply(['a']), '*1\r\n$1\r\na\r\n', '~1\r\n$1\r\na\r\n'],
  ['double', new DoubleReply(1.5), '$3\r\n1.5\r\n', ',1.5\r\n'],
  ['double 0.1', new DoubleReply(0.1), '$19\r\n0.10000000000000001\r\n', ',0.10000000000000001\r\n'],
  ['double inf', new DoubleReply(Infinity), '$3\r\ninf\r\n', ',inf\r\n'],
  ['double -inf', new DoubleReply(-Infinity), '$4\r\n-inf\r\n', ',-inf\r\n'],
  ['double nan', new DoubleReply(NaN), '$3\r\nnan\r\n', ',nan\r\n'],
  ['verbatim', new VerbatimReply('a\nb'), '$3\r\na\nb\r\n', '=7\r\ntxt:a\nb\r\n'],
  ['verbatim markdown UTF-8', new VerbatimReply('é', 'mkd'), `$2\r\n${utf8AsLatin1('é')}\r\n`, `=6\r\nmkd:${utf8AsLatin1('é')}\r\n`],
  ['true', new BooleanReply(true), ':1\r\n', '#t\r\n'],
  ['false', new BooleanReply(false), ':0\r\n', '#f\r\n'],
];

for (const [name, reply, resp2, resp3] of vectors) {
  test(`encoder › ${name}`, (t) => {
    t.is(encode(reply, 2), resp2);
    t.is(encode(reply, 3), resp3);
  });
}

test('encoder › doubles format as Redis 7.0 %.17g', (t) => {
  // Each pair is what redis-server 7.0.15 replied to ZSCORE / EVAL {double=…}.
  const cases: [number, string][] = [
    [1, '1'], [1.5, '1.5'], [0.1, '0.10000000000000001'], [1e300, '1.0000000000000001e+300'],
    [1e-5, '1.0000000000000001e-05'], [123456789012345678, '1.2345678901234568e+17'], [0, '0'], [-0, '-0'],
    [0.0001, '0.0001'], [1e16, '10000000000000000'], [1e17, '1e+17'], [12345.678, '12345.678'],
    [5e-324, '4.9406564584124654e-324'], [-1e-320, '-9.9998886718268301e-321'], [-2.5, '-2.5'], [123, '123'],
  ];
  for (const [value, text] of cases) t.is(formatDouble(value), text, String(value));
});

test('encoder › integers must be safe integers', (t) => {
  const buffer = new ReplyBuffer();
  for (const bad of [1.5, NaN, 2 ** 53, Infinity]) t.throws(() => buffer.write(bad, 2));
});

test('encoder › bigint integers go out exactly across C long long\'s range, and not beyond it', (t) => {
  t.is(encode(9223372036854775807n, 2), ':9223372036854775807\r\n');
  t.is(encode(-9223372036854775808n, 3), ':-9223372036854775808\r\n');
  t.is(encode([7381240782615871488n, 1], 2), '*2\r\n:7381240782615871488\r\n:1\r\n');
  const buffer = new ReplyBuffer();
  for (const bad of [2n ** 63n, -(2n ** 63n) - 1n]) t.throws(() => buffer.write(bad, 2));
});

test('encoder › take returns everything since the last take, once', (t) => {
  const buffer = new ReplyBuffer();
  buffer.write(OK, 2);
  buffer.write(1, 2);
  t.is(buffer.length, 9);
  const first = buffer.take();
  t.is(buffer.length, 0);
  buffer.write('x', 2);
  const second = buffer.take();
  t.is(first.toString(), '+OK\r\n:1\r\n');
  t.is(second.toString(), '$1\r\nx\r\n');
  t.is(buffer.take().length, 0);
});

test('encoder › a huge reply grows the scratch, then the scratch shrinks back', (t) => {
  const buffer = new ReplyBuffer();
  const big = Buffer.alloc(1024 * 1024, 7);
  buffer.write(OK, 2);
  buffer.write(big, 2);
  const out = buffer.take();
  t.is(out.length, 5 + 10 + big.length + 2); // +OK, $1048576, body, CRLF
  t.true(out.subarray(15, 15 + big.length).equals(big));
  const scratch = (buffer as unknown as { scratch: Buffer }).scratch;
  t.true(scratch.length <= 128 * 1024);
  buffer.write(PONG, 2);
  t.is(buffer.take().toString(), '+PONG\r\n');
  t.true(out.subarray(15, 15 + big.length).equals(big), 'taken buffer is not reused');
});

interface RedisParserOptions {
  returnReply(reply: unknown): void;
  returnError(error: Error): void;
  returnBuffers?: boolean;
}
const require = createRequire(import.meta.url);
const RedisParser = require('redis-parser') as new (options: RedisParserOptions) => { execute(data: Buffer): void };

/** What a RESP2 client decodes a reply to, via our own reading of reply.ts. */
function model(reply: Reply): unknown {
  if (typeof reply === 'string') return Buffer.from(reply);
  if (Buffer.isBuffer(reply) || typeof reply === 'number' || reply === null) return reply;
  if (Array.isArray(reply)) return reply.map(model);
  if (reply instanceof MapReply) return reply.entries.flatMap(([key, value]) => [model(key), model(value)]);
  if (reply instanceof SetReply) return reply.items.map(model);
  if (reply instanceof SimpleReply) return Buffer.from(reply.value);
  if (reply instanceof BooleanReply) return reply.value ? 1 : 0;
  if (reply instanceof DoubleReply) return Buffer.from(formatDouble(reply.value));
  if (reply instanceof VerbatimReply) return Buffer.from(reply.text);
  throw new Error('unexpected reply in model');
}

const replyArbitrary: fc.Arbitrary<Reply> = fc.letrec<{ reply: Reply }>((tie) => ({
  reply: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.uint8Array({ maxLength: 80 }).map((bytes) => Buffer.from(bytes)),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.maxSafeInteger(),
    fc.constant(null),
    fc.string({ maxLength: 20 }).filter((s) => !/[\r\n]/.test(s)).map((s) => new SimpleReply(s)),
    fc.double().map((value) => new DoubleReply(value)),
    fc.boolean().map((value) => new BooleanReply(value)),
    fc.string({ maxLength: 30 }).map((text) => new VerbatimReply(text)),
    fc.array(tie('reply'), { maxLength: 4 }),
    fc.array(fc.tuple(tie('reply'), tie('reply')), { maxLength: 3 }).map((entries) => new MapReply(entries)),
    fc.array(tie('reply'), { maxLength: 4 }).map((items) => new SetReply(items)),
  ),
})).reply;

test('encoder › RESP2 output round-trips through redis-parser', (t) => {
  fc.assert(
    fc.property(fc.array(replyArbitrary, { minLength: 1, maxLength: 8 }), (replies) => {
      const buffer = new ReplyBuffer();
      for (const reply of replies) buffer.write(reply, 2);
      const decoded: unknown[] = [];
      const parser = new RedisParser({ returnReply: (reply) => decoded.push(reply), returnError: (e) => decoded.push(e), returnBuffers: true });
      parser.execute(buffer.take());
      t.deepEqual(decoded, replies.map(model));
    }),
    { seed, numRuns: 300 },
  );
});

test('encoder › errors decode as errors in redis-parser', (t) => {
  const buffer = new ReplyBuffer();
  buffer.write(new ErrorReply('WRONGTYPE Operation against a key holding the wrong kind of value'), 2);
  buffer.write(new ErrorReply('ERR a\nb'), 2);
  const decoded: Error[] = [];
  const parser = new RedisParser({ returnReply: () => t.fail(), returnError: (e) => decoded.push(e) });
  parser.execute(buffer.take());
  t.deepEqual(decoded.map((e) => e.message), ['WRONGTYPE Operation against a key holding the wrong kind of value', 'ERR a b']);
});

test('encoder › push › RESP3 writes >, RESP2 an array (Pub/Sub messages, as redis-server 7.0.15)', (t) => {
  const message = new PushReply(['message', Buffer.from('news'), Buffer.from('hi')]);
  t.is(encode(message, 3), '>3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n');
  t.is(encode(message, 2), '*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n');
  t.is(encode(new PushReply(['unsubscribe', null, 0]), 3), '>3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n');
});

test('encoder › sequence › replies back to back with no header; inside an array it is one element, as Redis\'s EXEC of a SUBSCRIBE', (t) => {
  const confirmations = new ReplySequence([new PushReply(['subscribe', 'a', 1]), new PushReply(['subscribe', 'b', 2])]);
  t.is(encode(confirmations, 2), '*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n');
  t.is(encode([confirmations], 3), '*1\r\n>3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n>3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n');
});
