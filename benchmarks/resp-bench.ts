// RESP micro-benchmark: the per-request cost of the wire edge, without
// sockets. Parsing a 16-command SET pipeline (what redis-benchmark -P 16
// sends), fed whole and split mid-command (the stitching path), and encoding
// the replies a pipelined batch produces (+OK, bulk buffers, bulk strings,
// integers) into one buffer per batch. Best of several rounds.
//
//   node dist/benchmarks/resp-bench.js

import { performance } from 'node:perf_hooks';
import { ReplyBuffer } from '../src/resp/encoder.js';
import { protocolLimitsDefault } from '../src/resp/limits.js';
import { RequestParser } from '../src/resp/parser.js';
import { OK, type Reply } from '../src/resp/reply.js';

const pipelineDepth = 16;
const batchesCount = 100_000;
const roundsCount = 5;
/** redis-benchmark's default value size (-d 3) is tiny; 32 bytes is a typical small value. */
const valueBytes = 32;

function setCommand(index: number): string {
  const key = `key:${String(index).padStart(12, '0')}`;
  const value = 'x'.repeat(valueBytes);
  return `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`;
}

/** Best commands (or replies) per second over the rounds. */
function measure(perBatch: number, batch: () => void): number {
  let best = 0;
  for (let round = 0; round < roundsCount; round++) {
    const start = performance.now();
    for (let index = 0; index < batchesCount; index++) batch();
    const seconds = (performance.now() - start) / 1000;
    best = Math.max(best, (batchesCount * perBatch) / seconds);
  }
  return best;
}

function benchParse(): void {
  const pipeline = Buffer.from(Array.from({ length: pipelineDepth }, (_, index) => setCommand(index)).join(''));
  const parser = new RequestParser(protocolLimitsDefault);
  let parsed = 0;
  const drain = (): void => {
    for (let args = parser.next(true); args !== null; args = parser.next(true)) parsed += args.length;
  };
  const whole = measure(pipelineDepth, () => {
    parser.append(pipeline);
    drain();
  });
  const middle = (pipeline.length >> 1) + 3;
  const first = pipeline.subarray(0, middle);
  const second = pipeline.subarray(middle);
  const split = measure(pipelineDepth, () => {
    parser.append(first);
    drain();
    parser.append(second);
    drain();
  });
  if (parsed === 0 || parser.bufferedBytes !== 0) throw new Error('parser benchmark did not parse');
  report(`parse SET pipeline of ${pipelineDepth} (${pipeline.length} B), one chunk`, whole, 'commands/s');
  report(`parse SET pipeline of ${pipelineDepth}, split mid-command`, split, 'commands/s');
}

function benchEncode(name: string, reply: Reply, protocol: 2 | 3): void {
  const buffer = new ReplyBuffer();
  let bytes = 0;
  const rate = measure(pipelineDepth, () => {
    for (let index = 0; index < pipelineDepth; index++) buffer.write(reply, protocol);
    bytes += buffer.take().length;
  });
  if (bytes === 0) throw new Error('encoder benchmark wrote nothing');
  report(`encode ${name} ×${pipelineDepth} + take (RESP${protocol})`, rate, 'replies/s');
}

function report(name: string, rate: number, unit: string): void {
  console.log(`${name.padEnd(58)} ${(rate / 1e6).toFixed(2).padStart(7)} M ${unit}`);
}

benchParse();
benchEncode('+OK', OK, 2);
benchEncode(`bulk Buffer ${valueBytes} B`, Buffer.alloc(valueBytes, 120), 2);
benchEncode(`bulk Buffer 4 KiB`, Buffer.alloc(4096, 120), 2);
benchEncode(`bulk string ${valueBytes} B`, 'x'.repeat(valueBytes), 2);
benchEncode('integer 42 (shared)', 42, 3);
benchEncode('integer 1234567', 1234567, 3);
benchEncode('nil', null, 3);
