// RequestParser vectors, each fed whole, byte by byte and split at every
// boundary (ioredis decoder tests); expected replies and error strings were
// checked against redis-server 7.0.15. Then seeded fuzzing.

import test from 'ava';
import fc from 'fast-check';
import { argumentOverheadBytes, protocolLimits, protocolLimitsDefault, type ProtocolLimits } from '../../src/resp/limits.js';
import { ProtocolError, QueryBufferLimitError, RequestParser, parseRedisInteger } from '../../src/resp/parser.js';

const seed = 20240611;
const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
const show = (commands: Buffer[][]): string[][] => commands.map((args) => args.map((arg) => arg.toString('latin1')));

interface Outcome {
  commands: Buffer[][];
  error: ProtocolError | null;
}

/** Appends each chunk and drains every complete command after it. */
function run(chunks: readonly Buffer[], authenticated = true, limits: ProtocolLimits = protocolLimitsDefault): Outcome {
  const parser = new RequestParser(limits);
  const commands: Buffer[][] = [];
  try {
    for (const chunk of chunks) {
      parser.append(chunk);
      for (let args = parser.next(authenticated); args !== null; args = parser.next(authenticated)) commands.push(args);
    }
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return { commands, error };
  }
  return { commands, error: null };
}

/** Whole, byte by byte, and (for inputs up to splitBytesMax) split in two at every offset. */
function feedings(input: Buffer): Buffer[][] {
  const splitBytesMax = 300;
  const ways: Buffer[][] = [[input], [...input].map((byte) => Buffer.from([byte]))];
  if (input.length <= splitBytesMax) {
    for (let at = 1; at < input.length; at++) ways.push([input.subarray(0, at), input.subarray(at)]);
  }
  return ways;
}

const accepted: [name: string, input: string, expected: string[][]][] = [
  ['simple multibulk', '*1\r\n$4\r\nPING\r\n', [['PING']]],
  ['set', '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n', [['SET', 'k', 'value']]],
  ['empty bulk', '*2\r\n$3\r\nGET\r\n$0\r\n\r\n', [['GET', '']]],
  ['binary-safe bulk', '*2\r\n$4\r\nECHO\r\n$6\r\n\r\n\0\xff\r\n\r\n', [['ECHO', '\r\n\0\xff\r\n']]],
  ['pipeline', '*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n', [['PING'], ['ECHO', 'hi'], ['PING']]],
  ['*0, *-1, *-10 and blank lines are skipped', '*0\r\n*-1\r\n*-10\r\n\r\n\n   \r\nPING\r\n', [['PING']]],
  ['int64 min count is skipped', '*-9223372036854775808\r\nPING\r\n', [['PING']]],
  ['bytes after a bulk are skipped unchecked', '*1\r\n$4\r\nPINGXY*1\r\n$4\r\nPING\r\n', [['PING'], ['PING']]],
  ['byte after a header CR is skipped unchecked', '*1\rX$4\r\nPING\r\n', [['PING']]],
  ['inline, LF ending', 'PING\nECHO hi\n', [['PING'], ['ECHO', 'hi']]],
  ['inline, CR inside separates', 'ECHO a\rb\r\n', [['ECHO', 'a', 'b']]],
  ['inline, trailing CR', 'ECHO a\r\r\n', [['ECHO', 'a']]],
  ['inline, tabs and runs of blanks', '\tSET  k \t v \r\n', [['SET', 'k', 'v']]],
  ['inline, double-quote escapes', 'ECHO "a\\x41\\n\\r\\t\\b\\a\\\\\\"\\q"\r\n', [['ECHO', 'aA\n\r\t\b\x07\\"q']]],
  ['inline, single quotes', "ECHO 'a\\'b\\n'\r\n", [['ECHO', "a'b\\n"]]],
  ['inline, quotes inside a token join', 'ECHO a"b c" d\r\n', [['ECHO', 'ab c', 'd']]],
  ['inline, \\v and \\f skipped between tokens only', 'ECHO \vx\f\r\n', [['ECHO', 'x\f']]],
  ['inline, \\v inside a token', 'ECHO a\vb\r\n', [['ECHO', 'a\vb']]],
  ['inline, \\v after a closing quote', 'ECHO "a"\v\r\n', [['ECHO', 'a']]],
  ['inline, short \\x is literal', 'ECHO "\\x4" "a\\xZZ"\r\n', [['ECHO', 'x4', 'axZZ']]],
  ['inline, empty quoted args', 'ECHO \'\' ""\r\n', [['ECHO', '', '']]],
  ['inline, NUL ends the line', 'ECHO ab\0cd\r\nPING\r\n', [['ECHO', 'ab'], ['PING']]],
];

for (const [name, input, expected] of accepted) {
  test(`parser › accepts › ${name}`, (t) => {
    for (const chunks of feedings(bytes(input))) {
      const outcome = run(chunks);
      t.is(outcome.error, null);
      t.deepEqual(show(outcome.commands), expected);
    }
  });
}

const invalidCount = 'Protocol error: invalid multibulk length';
const invalidBulk = 'Protocol error: invalid bulk length';
const unbalanced = 'Protocol error: unbalanced quotes in request';

const rejected: [input: string, message: string, authenticated?: boolean][] = [
  ['*3000000000\r\n', invalidCount],
  ['*2147483648\r\n', invalidCount],
  ['*abc\r\n', invalidCount],
  ['*-0\r\n', invalidCount],
  ['*+1\r\n', invalidCount],
  ['*01\r\n', invalidCount],
  ['* 1\r\n', invalidCount],
  ['*\r\n', invalidCount],
  ['*-9223372036854775809\r\n', invalidCount],
  ['*1\n$4\r\nPING\r\n', invalidCount],
  ['*1\r\n$-10\r\n', invalidBulk],
  ['*1\r\n$-1\r\n', invalidBulk],
  ['*1\r\n$abc\r\n', invalidBulk],
  ['*1\r\n$01\r\n', invalidBulk],
  [`*1\r\n$${'1'.repeat(30)}\r\n`, invalidBulk],
  ['*1\r\n$536870913\r\n', invalidBulk],
  ['*1\r\nfoo\r\n', "Protocol error: expected '$', got 'f'"],
  ['*1\r\n\r\n', "Protocol error: expected '$', got ' '"],
  ['*1\r\n\n$4\r\n', "Protocol error: expected '$', got ' '"],
  ['*2\r\n$3\r\nGET\r\n:1\r\n', "Protocol error: expected '$', got ':'"],
  ['ECHO "abc"def\r\n', unbalanced],
  ['ECHO "abc\r\n', unbalanced],
  ["ECHO 'abc'x\r\n", unbalanced],
  ["ECHO 'abc\r\n", unbalanced],
  ['ECHO a"b c"d\r\n', unbalanced],
  ['ECHO "\\"\r\n', unbalanced],
  ['ECHO "a\0b"\r\n', unbalanced],
  ['a'.repeat(65537), 'Protocol error: too big inline request'],
  [`${'a'.repeat(65536)}\r\n`, 'Protocol error: too big inline request'],
  [`*${'1'.repeat(65536)}`, 'Protocol error: too big mbulk count string'],
  [`*1\r\n$${'1'.repeat(65536)}`, 'Protocol error: too big bulk count string'],
  ['*11\r\n', 'Protocol error: unauthenticated multibulk length', false],
  ['*1\r\n$16385\r\n', 'Protocol error: unauthenticated bulk length', false],
  ['*3000000000\r\n', invalidCount, false],
  ['*1\r\n$536870913\r\n', invalidBulk, false],
];

for (const [input, message, authenticated = true] of rejected) {
  const label = JSON.stringify(input.length > 40 ? `${input.slice(0, 20)}…(${input.length} bytes)` : input);
  test(`parser › rejects › ${label}${authenticated ? '' : ' unauthenticated'}`, (t) => {
    for (const chunks of feedings(bytes(input))) {
      const outcome = run(chunks, authenticated);
      t.truthy(outcome.error, 'must throw');
      t.is(outcome.error?.message, message);
      t.is(outcome.error?.code, 'PROTOCOL_ERROR');
    }
  });
}

test('parser › limits › just under each limit waits instead of failing', (t) => {
  const pending = ['a'.repeat(65536), `*${'1'.repeat(65535)}`, `*1\r\n$${'1'.repeat(65535)}`];
  for (const input of pending) t.deepEqual(run([bytes(input)]), { commands: [], error: null });
  t.deepEqual(show(run([bytes(`${'a'.repeat(65535)}\r\n`)]).commands), [['a'.repeat(65535)]]);
  t.deepEqual(run([bytes('*10\r\n')], false), { commands: [], error: null });
  // Redis compares the count with INT_MAX only: the query buffer limit bounds what follows.
  t.deepEqual(run([bytes('*2147483647\r\n$4\r\nPING\r\n')]), { commands: [], error: null });
  t.deepEqual(run([bytes('*1\r\n$16384\r\n')], false), { commands: [], error: null });
});

test('parser › limits › unauthenticated skips and authenticated lifts the limits', (t) => {
  t.deepEqual(show(run([bytes('*-20\r\nPING\r\n')], false).commands), [['PING']]);
  const args = Array.from({ length: 11 }, () => 'x');
  const big = 'v'.repeat(16385);
  const input = `*11\r\n${args.map((a) => `$1\r\n${a}\r\n`).join('')}*2\r\n$4\r\nECHO\r\n$16385\r\n${big}\r\n`;
  t.deepEqual(show(run([bytes(input)], true).commands), [args, ['ECHO', big]]);
});

test('parser › limits › the authenticated flag applies to the header read in that call', (t) => {
  const parser = new RequestParser(protocolLimitsDefault);
  parser.append(bytes('*2\r\n$4\r\nAUTH\r\n$1\r\nx\r\n*11\r\n'));
  t.deepEqual(show([parser.next(false)!]), [['AUTH', 'x']]);
  t.is(parser.next(true), null);
});

test('parser › limits › configured bulk limit', (t) => {
  const limits = protocolLimits({ bulkBytesMax: 4, unauthenticatedBulkBytesMax: 4 });
  t.deepEqual(show(run([bytes('*1\r\n$4\r\nPING\r\n')], true, limits).commands), [['PING']]);
  t.is(run([bytes('*1\r\n$5\r\nHELLO\r\n')], true, limits).error?.message, invalidBulk);
  t.throws(() => protocolLimits({ unauthenticatedBulkBytesMax: 10, bulkBytesMax: 4 }));
});

// Each argument is charged its length plus argumentOverheadBytes, at its header.
const queryBufferLimits = protocolLimits({ inlineBytesMax: 64, queryBufferBytesMax: 4 * argumentOverheadBytes + 10 });

test('parser › query buffer › a request costing exactly the limit is accepted, one byte more is refused at its header', (t) => {
  const fits = '*4\r\n$4\r\nMSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n$0\r\n\r\n';
  t.deepEqual(show(run([bytes(fits)], true, queryBufferLimits).commands), [['MSET', 'k', 'value', '']]);
  for (const chunks of feedings(bytes('*4\r\n$4\r\nMSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n$1\r\n'))) {
    const outcome = run(chunks, true, queryBufferLimits);
    t.true(outcome.error instanceof QueryBufferLimitError);
    t.is(outcome.error?.code, 'QUERY_BUFFER_LIMIT');
    t.is(outcome.error?.message, `Closing client that reached max query buffer length (client-query-buffer-limit is ${4 * argumentOverheadBytes + 10} bytes)`);
  }
});

test('parser › query buffer › empty arguments are charged their overhead', (t) => {
  const fourEmpty = `*5\r\n${'$0\r\n\r\n'.repeat(4)}`;
  t.is(run([bytes(fourEmpty)], true, queryBufferLimits).error, null);
  t.true(run([bytes(`${fourEmpty}$0\r\n`)], true, queryBufferLimits).error instanceof QueryBufferLimitError);
});

test('parser › query buffer › the charge is per request: a pipeline may exceed the limit in total', (t) => {
  const command = '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n';
  const outcome = run([bytes(command.repeat(100))], true, queryBufferLimits);
  t.is(outcome.error, null);
  t.is(outcome.commands.length, 100);
});

test('parser › query buffer › a large bulk is refused from its header, before its buffer is allocated', (t) => {
  const limits = protocolLimits({ queryBufferBytesMax: 1024 * 1024 });
  const parser = new RequestParser(limits);
  parser.append(bytes(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${1024 * 1024}\r\n`));
  t.throws(() => parser.next(true), { instanceOf: QueryBufferLimitError });
  t.is(parser.bufferedBytes, 0);
  t.throws(() => protocolLimits({ queryBufferBytesMax: 1000 }), { message: /queryBufferBytesMax/ });
});

test('parser › errors › commands before the error are returned, and the error sticks', (t) => {
  const parser = new RequestParser(protocolLimitsDefault);
  parser.append(bytes('PING\r\n*x\r\n'));
  t.deepEqual(show([parser.next(true)!]), [['PING']]);
  const first = t.throws(() => parser.next(true), { instanceOf: ProtocolError, message: invalidCount });
  parser.append(bytes('PING\r\n'));
  t.is(t.throws(() => parser.next(true)), first);
  t.is(parser.bufferedBytes, 0);
});

test('parser › string2ll › integers as Redis reads them', (t) => {
  const parse = (text: string) => parseRedisInteger(bytes(text), 0, text.length);
  t.is(parse('0'), 0);
  t.is(parse('-5'), -5);
  // Beyond 2^53 only the magnitude matters (it is compared with limits).
  t.true(parse('9223372036854775807') > 9.2e18);
  t.true(parse('-9223372036854775808') < -9.2e18);
  for (const bad of ['', '-', '-0', '00', '+1', ' 1', '1 ', '1a', '9223372036854775808', '-9223372036854775809', '10000000000000000000']) {
    t.true(Number.isNaN(parse(bad)), bad);
  }
});

function setCommand(index: number): Buffer {
  const key = `key:${index}`;
  const value = `value-${index}-${'x'.repeat(index % 50)}`;
  return bytes(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`);
}

test('parser › pipeline › a long pipeline in 4 KiB chunks stays bounded and its views stay intact', (t) => {
  const commandCount = 20000;
  const stream = Buffer.concat(Array.from({ length: commandCount }, (_, index) => setCommand(index)));
  const chunkBytes = 4096;
  const parser = new RequestParser(protocolLimitsDefault);
  const commands: Buffer[][] = [];
  let bufferedMax = 0;
  let backingMax = 0;
  for (let at = 0; at < stream.length; at += chunkBytes) {
    parser.append(stream.subarray(at, at + chunkBytes));
    for (let args = parser.next(true); args !== null; args = parser.next(true)) commands.push(args);
    bufferedMax = Math.max(bufferedMax, parser.bufferedBytes);
    const backing = (parser as unknown as { backing: Buffer | null }).backing;
    backingMax = Math.max(backingMax, backing?.length ?? 0);
  }
  t.is(commands.length, commandCount);
  // Views are never overwritten: check them only now, after every later append.
  commands.forEach((args, index) => t.true(Buffer.concat([bytes(`*3\r\n`), ...args.map((a) => Buffer.concat([bytes(`$${a.length}\r\n`), a, bytes('\r\n')]))]).equals(setCommand(index))));
  t.true(bufferedMax < 200, `bufferedBytes peaked at ${bufferedMax}`);
  t.true(backingMax <= 2 * (chunkBytes + 200) || backingMax <= 16 * 1024, `backing peaked at ${backingMax}`);
  t.is(parser.bufferedBytes, 0);
});

test('parser › large bulk › fills its own buffer chunk by chunk', (t) => {
  const value = Buffer.alloc(300 * 1024);
  for (let index = 0; index < value.length; index++) value[index] = (index * 7) & 0xff;
  const input = Buffer.concat([bytes(`*2\r\n$4\r\nECHO\r\n$${value.length}\r\n`), value, bytes('\r\nPING\r\n')]);
  for (const chunkBytes of [1000, 4096, 65536, input.length]) {
    const parser = new RequestParser(protocolLimitsDefault);
    const commands: Buffer[][] = [];
    let bufferedMax = 0;
    let backingMax = 0;
    for (let at = 0; at < input.length; at += chunkBytes) {
      parser.append(input.subarray(at, at + chunkBytes));
      for (let args = parser.next(true); args !== null; args = parser.next(true)) commands.push(args);
      bufferedMax = Math.max(bufferedMax, parser.bufferedBytes);
      backingMax = Math.max(backingMax, (parser as unknown as { backing: Buffer | null }).backing?.length ?? 0);
    }
    // The bulk went straight into its own buffer, not through the stitch buffer.
    t.true(backingMax <= 16 * 1024, `backing peaked at ${backingMax}`);
    t.is(commands.length, 2);
    t.true(commands[0]![1]!.equals(value));
    t.deepEqual(show([commands[1]!]), [['PING']]);
    t.true(bufferedMax <= value.length + 100);
  }
});

function encodeCommand(args: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [bytes(`*${args.length}\r\n`)];
  for (const arg of args) parts.push(bytes(`$${arg.length}\r\n`), Buffer.from(arg), bytes('\r\n'));
  return Buffer.concat(parts);
}

function splitAt(input: Buffer, cuts: readonly number[]): Buffer[] {
  const offsets = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const offset of offsets) {
    chunks.push(input.subarray(from, offset));
    from = offset;
  }
  chunks.push(input.subarray(from));
  return chunks;
}

test('parser › fuzz › valid commands round-trip under arbitrary chunking', (t) => {
  const arg = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(new Uint8Array(0), bytes('\r\n'), bytes('*1\r\n$')));
  const commands = fc.array(fc.array(arg, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 12 });
  fc.assert(
    fc.property(commands, fc.array(fc.nat(), { maxLength: 20 }), (cmds, cuts) => {
      const input = Buffer.concat(cmds.map(encodeCommand));
      const outcome = run(splitAt(input, cuts));
      t.is(outcome.error, null);
      t.deepEqual(outcome.commands.map((args) => args.map((a) => Buffer.from(a))), cmds.map((args) => args.map((a) => Buffer.from(a))));
    }),
    { seed, numRuns: 300 },
  );
});

test('parser › fuzz › random bytes only ever throw ProtocolError and always terminate', (t) => {
  const token = fc.constantFrom('*', '$', '1', '0', '-', '3', '\r', '\n', '\r\n', ' ', '"', "'", '\\', 'x', 'A', '\0', '*2\r\n', '$3\r\n', 'abc');
  const structured = fc.array(token, { maxLength: 60 }).map((tokens) => bytes(tokens.join('')));
  const input = fc.oneof(fc.uint8Array({ maxLength: 200 }), structured);
  fc.assert(
    fc.property(input, fc.array(fc.nat(), { maxLength: 10 }), fc.boolean(), (data, cuts, authenticated) => {
      const parser = new RequestParser(protocolLimits({ inlineBytesMax: 64, bulkBytesMax: 40, unauthenticatedBulkBytesMax: 20 }));
      let calls = 0;
      try {
        for (const chunk of splitAt(Buffer.from(data), cuts)) {
          parser.append(chunk);
          while (parser.next(authenticated) !== null) if (++calls > data.length + 1) return false;
        }
      } catch (error) {
        return error instanceof ProtocolError && error.code === 'PROTOCOL_ERROR';
      }
      return parser.bufferedBytes <= data.length;
    }),
    { seed, numRuns: 2000 },
  );
  t.pass();
});
