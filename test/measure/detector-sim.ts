// How heartbeats arrive under gossip, and what the detector makes of them
// (not part of `npm test`): K Membership instances on virtual time over the
// in-memory network (0–2 ms delay, optional message loss) record every
// arrival of every member's heartbeat at every node for H simulated hours;
// then the arrival traces are replayed through PhiDetector with each
// acceptable pause given, counting the convictions of members that were
// alive all along (phi at an arrival already at the threshold) and the
// silence after which phi would convict (sampled along the trace).
//
//   npm run build && node dist/test/measure/detector-sim.js 5 2 1 0.01 250 500
//     (5 nodes, 2 hours, seed 1, 1% loss, pauses 250 and 500 ms)

import { pino } from 'pino';
import { MemoryNetwork, MemoryTransport, mulberry32 } from '../../src/peer/memory-transport.js';
import { Membership, downAfterMsDefault, gossipIntervalMsDefault, phiConvictThresholdDefault, phiFirstIntervalRounds,
  phiStdDeviationMsMinDefault } from '../../src/membership/membership.js';
import { PhiDetector, phiSamplesMaxDefault } from '../../src/membership/phi.js';
import { generateTokens, splitmix64 } from '../../src/ring/index.js';
import { VirtualTime } from '../sim/virtual-time.js';

type Traces = Map<string, number[]>;

async function record(count: number, hours: number, seed: number, dropRate: number): Promise<Traces> {
  const time = new VirtualTime();
  const network = new MemoryNetwork({ seed, timers: time, delayMsMin: 0, delayMsMax: 2, dropRate });
  const random = mulberry32(seed * 7919);
  const address = (i: number) => `10.0.0.${i}:17000`;
  const traces: Traces = new Map();
  const nodes: Membership[] = [];
  for (let i = 0; i < count; i++) {
    const id = `n${i}`;
    const transport = new MemoryTransport({ network, nodeId: id, address: address(i) });
    const membership = new Membership({
      self: { id, host: `10.0.0.${i}`, respPort: 7000, peerPort: 17000, tokens: generateTokens(id, 8, splitmix64(BigInt(i + 1))) },
      generation: 1, seeds: [address(0), address(1)], transport, n: 3, logger: pino({ level: 'silent' }),
      // Nobody is ever convicted while recording, so whom a node gossips with does not depend on the setting measured.
      phiConvictThreshold: 1e9, downAfterMs: 1e12,
      gossipIntervalMs: gossipIntervalMsDefault + random() * 0.5,
      now: () => time.now(), random: mulberry32(seed * 1000 + i), timers: time,
    });
    const heartbeat = membership.detector.heartbeat.bind(membership.detector);
    membership.detector.heartbeat = (member, nowMs) => {
      const key = `${id}>${member}`;
      const trace = traces.get(key) ?? [];
      trace.push(nowMs);
      traces.set(key, trace);
      heartbeat(member, nowMs);
    };
    transport.setHandler((from, msg) => membership.handleMessage(from, msg));
    await transport.listen();
    nodes.push(membership);
    time.setTimeout(() => membership.start(), random() * gossipIntervalMsDefault);
  }
  const end = time.now() + hours * 3_600_000;
  await time.runUntil(() => time.now() >= end, hours * 3_600_000 + 10_000);
  let stopped = false;
  void Promise.all(nodes.map((n) => n.stop())).then(() => { stopped = true; });
  await time.runUntil(() => stopped, 10_000).catch(() => undefined);
  return traces;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function intervalStats(traces: Traces): string {
  const intervals: number[] = [];
  for (const ts of traces.values()) for (let i = 1; i < ts.length; i++) intervals.push(ts[i]! - ts[i - 1]!);
  intervals.sort((a, b) => a - b);
  const mean = intervals.reduce((a, b) => a + b, 0) / intervals.length;
  const sd = Math.sqrt(intervals.reduce((a, b) => a + (b - mean) ** 2, 0) / intervals.length);
  const q = (p: number) => quantile(intervals, p).toFixed(0);
  return `${intervals.length} intervals: mean ${mean.toFixed(0)} ms, deviation ${sd.toFixed(0)} ms, `
    + `p50 ${q(0.5)}, p99 ${q(0.99)}, p99.99 ${q(0.9999)}, max ${q(1)} ms`;
}

function replay(traces: Traces, acceptablePauseMs: number): string {
  let convictions = 0;
  let pairHours = 0;
  const horizons: number[] = [];
  for (const ts of traces.values()) {
    const detector = new PhiDetector({
      convictThreshold: phiConvictThresholdDefault, samplesMax: phiSamplesMaxDefault,
      stdDeviationMsMin: phiStdDeviationMsMinDefault, acceptablePauseMs,
      firstIntervalMs: phiFirstIntervalRounds * gossipIntervalMsDefault, silenceMsMax: downAfterMsDefault,
    });
    pairHours += (ts[ts.length - 1]! - ts[0]!) / 3_600_000;
    ts.forEach((at, i) => {
      if (i > 0 && detector.verdict('m', at) === 'down') convictions++;
      detector.heartbeat('m', at);
      if (i > 200 && i % 97 === 0) horizons.push(detector.convictionAtMs('m', at) - at);
    });
  }
  horizons.sort((a, b) => a - b);
  return `pause ${acceptablePauseMs} ms: ${convictions} convictions of live members (${(convictions / pairHours).toFixed(3)} per pair-hour); `
    + `phi 8 after a silence of p5 ${quantile(horizons, 0.05).toFixed(0)}, median ${quantile(horizons, 0.5).toFixed(0)}, p95 ${quantile(horizons, 0.95).toFixed(0)} ms`;
}

const [count = 5, hours = 2, seed = 1, dropRate = 0, ...pauses] = process.argv.slice(2).map(Number);
const traces = await record(count, hours, seed, dropRate);
console.log(`${count} nodes, ${hours} h, seed ${seed}, loss ${dropRate}: ${intervalStats(traces)}`);
for (const pause of pauses.length > 0 ? pauses : [250, 500]) console.log(`  ${replay(traces, pause)}`);
process.exit(0);
