// The scaling benchmark's arithmetic (benchmarks/scaling.ts): the quorum for
// K nodes, and what a node serves from the cluster's CPU per operation.
import test from 'ava';
import { foldRuns, opsPerNode, quorumFor, type ScalingRun } from '../../benchmarks/scaling.js';

test('N is min(3, K) and R and W a majority of N', (t) => {
  t.deepEqual(quorumFor(1), { n: 1, r: 1, w: 1 });
  t.deepEqual(quorumFor(3), { n: 3, r: 2, w: 2 });
  t.deepEqual(quorumFor(5), { n: 3, r: 2, w: 2 });
});

test('a node serves cores × 100k / (the cluster\'s CPU seconds per 100k), whatever K', (t) => {
  t.is(opsPerNode(10, 1), 10_000);
  t.is(opsPerNode(10, 2), 20_000);
  t.true(Number.isNaN(opsPerNode(0, 1)));
});

test('rounds of one K, test and depth fold into ranges, and the implied figures use their means', (t) => {
  const run = (round: number, all: number, main: number, rps: number): ScalingRun => ({
    nodes: 3, test: 'SET', pipeline: 1, round, requests: 100_000, rps, p50Ms: 1, p99Ms: 2,
    nodesCpuPer100k: all, nodesMainThreadCpuPer100k: main, nodesCpuNetOfIdlePer100k: all, clientCpuPer100k: 1, busiestNodeShare: 0.34, machineBusyPercent: 100, loadAvg1: 1,
  });
  const [row, ...rest] = foldRuns([run(1, 10, 4, 5000), run(2, 30, 6, 3000), { ...run(1, 1, 1, 1), test: 'GET' }]);
  t.is(rest.length, 1);
  t.deepEqual(row!.rps, [3000, 5000]);
  t.deepEqual(row!.nodesCpuPer100k, [10, 30]);
  t.is(row!.impliedOpsPerNodeOneJsCore, 20_000, '1 core × 100k / mean main-thread 5 s');
  t.is(row!.impliedOpsPerNodeAllThreads, 10_000, '2 cores × 100k / mean 20 s');
});
