// `npm run sim -- [--seeds S] [--from F] [--seed X] [--ops M] [--workload register|set|counter|orset|hash|zset|list] [--show K]`:
// runs seeds F+1..F+S (or the one seed X) of the cluster simulation, prints
// each failing seed with a one-line replay command, shrinks the first K
// failures (default 3) and prints their short history on the offending key,
// and ends with exactly one line `sim: S seeds, O operations, F faults, V violations`.
// A seed picks its own workload unless --workload says otherwise.
// Exit 0 only when V is 0. A progress bar shows on a terminal (cli-progress).

import { chainCounts } from '../../src/crdt/value-chain.js';
import cliProgress from 'cli-progress';
import { parseArgs } from 'node:util';
import type { Violation, Workload } from './history.js';
import { defaultWorkload } from './plan.js';
import { describeKey, replayCommand, runSeed, shrink, simOpsDefault, type RunResult } from './run.js';

/** Violations listed per failing seed before "… and N more". */
const violationsShownPerSeed = 5;

interface Options {
  readonly seeds: number[];
  readonly ops: number;
  readonly workload: Workload | undefined;
  readonly show: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      seeds: { type: 'string' },
      from: { type: 'string' },
      seed: { type: 'string' },
      ops: { type: 'string' },
      workload: { type: 'string' },
      show: { type: 'string' },
    },
    strict: true,
  });
  const int = (name: string, text: string | undefined, fallback: number, min: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} takes an integer >= ${min}, got ${text}`);
    return n;
  };
  const workload = values.workload as Workload | undefined;
  if (workload !== undefined && !['register', 'set', 'counter', 'orset', 'hash', 'zset', 'list'].includes(workload)) throw new Error(`--workload is register, set, counter, orset, hash, zset or list, got ${workload}`);
  let seeds: number[];
  if (values.seed !== undefined) {
    seeds = [int('seed', values.seed, 1, 0)];
  } else {
    const count = int('seeds', values.seeds, 100, 1);
    const from = int('from', values.from, 0, 0);
    seeds = Array.from({ length: count }, (_, i) => from + i + 1);
  }
  return { seeds, ops: int('ops', values.ops, simOpsDefault, 1), workload, show: int('show', values.show, values.seed !== undefined ? 1 : 3, 0) };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const bar = process.stdout.isTTY ? new cliProgress.SingleBar({ format: 'sim [{bar}] {value}/{total} seeds | {violations} violations | {eta_formatted} left', hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(options.seeds.length, 0, { violations: 0 });
  let operations = 0;
  let faults = 0;
  let violations = 0;
  let collected = 0;
  let hintedWrites = 0;
  let aaeMoved = 0;
  const deltas = { sent: 0, applied: 0, held: 0, fallbacks: 0, mismatches: 0 };
  let aaeJudged = 0;
  let fallbackWrites = 0;
  let hintedOnlyAcked = 0;
  let hintedOnlyJudged = 0;
  let hintsDelivered = 0;
  let ringChangeSeeds = 0;
  let joins = 0;
  let leaves = 0;
  let streamed = 0;
  let cleaned = 0;
  const failures: RunResult[] = [];
  const byKind = new Map<string, number>();
  for (const seed of options.seeds) {
    const workload = options.workload ?? defaultWorkload(seed);
    let result: RunResult;
    try {
      result = await runSeed({ seed, ops: options.ops, workload });
    } catch (error) {
      // The harness or the code under test threw: as bad as a violation, and replayable.
      bar?.stop();
      console.log(`ERROR seed ${seed}: ${(error as Error).stack ?? String(error)}\n  replay: ${replayCommand(seed, workload, options.ops)}`);
      violations++;
      byKind.set('run-error', (byKind.get('run-error') ?? 0) + 1);
      bar?.start(options.seeds.length, options.seeds.indexOf(seed) + 1, { violations });
      continue;
    }
    operations += result.ops;
    faults += result.faults;
    collected += result.collected;
    hintedWrites += result.hinted.writes;
    aaeMoved += result.aaeRecordsMoved;
    for (const k of Object.keys(deltas) as (keyof typeof deltas)[]) deltas[k] += result.deltas[k];
    joins += result.ringChanges.joins;
    leaves += result.ringChanges.leaves;
    streamed += result.ringChanges.streamed;
    cleaned += result.ringChanges.cleaned;
    if (result.config.ringChange !== undefined) ringChangeSeeds++;
    if (result.history.replicaStates !== undefined) aaeJudged++;
    fallbackWrites += result.hinted.byFallback;
    for (const op of result.history.ops) {
      if (op.hintedOnly !== true || op.outcome !== 'ok') continue;
      hintedOnlyAcked++;
      if (result.history.hintsExpiredKeys?.includes(op.key) !== true) hintedOnlyJudged++;
    }
    hintsDelivered += result.hinted.delivered;
    violations += result.violations.length;
    if (result.violations.length > 0) {
      failures.push(result);
      for (const v of result.violations) byKind.set(v.kind, (byKind.get(v.kind) ?? 0) + 1);
      bar?.stop();
      printFailure(result);
      bar?.start(options.seeds.length, options.seeds.indexOf(seed) + 1, { violations });
    }
    bar?.increment(1, { violations });
  }
  bar?.stop();
  for (const result of failures.slice(0, options.show)) await printShrunk(result);
  if (failures.length > 0) {
    const kinds = [...byKind].sort().map(([kind, n]) => `${kind} ${n}`).join(', ');
    console.log(`failing seeds: ${failures.length} of ${options.seeds.length} (${kinds})`);
  }
  console.log(`exercised: ${collected} records reaped, ${hintedWrites} writes through fallbacks (${fallbackWrites} with every primary down; ${hintedOnlyAcked} of them acknowledged, ${hintedOnlyJudged} judged (no hint of their key expired)), ${hintsDelivered} hints handed off, ${aaeMoved} records moved by anti-entropy (${aaeJudged} seeds with replica states judged), ` +
    `${ringChangeSeeds} seeds changing the ring (${joins} joins and ${leaves} leaves completed, ${streamed} records streamed, ${cleaned} dropped by cleanup)`);
  const chains = chainCounts();
  console.log(`chains: ${chains.chained} collection versions chained, ${chains.encoded} chained values encoded when read`);
  console.log(`deltas: ${deltas.sent} sent, ${deltas.applied} applied, ${deltas.held} held (duplicates or superseded), ${deltas.fallbacks} answered by the whole record (${deltas.mismatches} of them rebuilt other bytes)`);
  console.log(`sim: ${options.seeds.length} seeds, ${operations} operations, ${faults} faults, ${violations} violations`);
  return violations === 0 ? 0 : 1;
}

function printFailure(result: RunResult): void {
  const c = result.config;
  const kinds = [...new Set(result.violations.map((v) => v.kind))].join(', ');
  console.log(`FAIL seed ${c.seed}: ${result.violations.length} violations (${kinds}); ${c.workload}, ${c.nodes} nodes`);
  console.log(`  replay: ${replayCommand(c.seed, c.workload, result.ops)}`);
  for (const v of result.violations.slice(0, violationsShownPerSeed)) console.log(`  ${v.kind} on ${v.key}: ${v.message}`);
  if (result.violations.length > violationsShownPerSeed) console.log(`  … and ${result.violations.length - violationsShownPerSeed} more`);
}

/** Replays the failing seed shorter and prints the history of the first violation's key. */
async function printShrunk(result: RunResult): Promise<void> {
  const c = result.config;
  const first: Violation = result.violations[0]!;
  const shrunk = await shrink({ seed: c.seed, workload: c.workload, ops: result.ops }, first);
  const shown = shrunk.result.violations.find((v) => v.kind === first.kind && v.key === first.key) ?? first;
  console.log(`\nseed ${c.seed}, shortest failing run found: ${shrunk.ops} of ${result.ops} operations`);
  console.log(`  replay: ${replayCommand(c.seed, c.workload, shrunk.ops)}`);
  console.log(`  ${shown.kind} on ${shown.key}: ${shown.message}`);
  console.log(`  operations on ${shown.key} (times in virtual ms since the start; faults marked --):`);
  for (const line of describeKey(shrunk.result.history, shown.key)) console.log(`    ${line}`);
  console.log('');
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 2;
  },
);
