// The node's write actor (storage/actor.ts): dots must never repeat, within
// a process, across restarts (the counter resumes above a ceiling persisted
// before any counter below it is handed out) and across a lost disk (a new
// epoch, hence a new actor id). Real files in temp dirs; a reopen without
// any close is what a crash looks like, since FileActor holds no handle.

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { counterMax } from '../../src/clock/vclock.js';
import { ActorError, actorFileName, counterBlock, FileActor, MemoryActor, type Actor } from '../../src/storage/actor.js';

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringkv-actor-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function stored(dir: string): { id: string; ceiling: number } {
  return JSON.parse(readFileSync(join(dir, actorFileName), 'utf8')) as { id: string; ceiling: number };
}

function actorError(t: ExecutionContext, run: () => unknown, code: ActorError['code']): void {
  const error = t.throws(run, { instanceOf: ActorError });
  t.is(error?.code, code, error?.message);
}

const kinds: Array<[string, (t: ExecutionContext) => Actor]> = [
  ['MemoryActor', () => new MemoryActor('node-a#1')],
  ['FileActor', (t) => FileActor.open(tempDir(t), 'node-a')],
];

for (const [kind, make] of kinds) {
  test(`actor › ${kind} › counters strictly increase, and next(atLeast) is above atLeast`, (t) => {
    const actor = make(t);
    const seen: number[] = [];
    for (const atLeast of [0, 0, 5, 0, 3, 1000, 999, 0, counterBlock - 1, 0, 2 * counterBlock + 7, 0]) {
      const n = actor.next(atLeast);
      t.true(n > atLeast, `next(${atLeast}) = ${n}`);
      if (seen.length > 0) t.true(n > seen[seen.length - 1]!, `next(${atLeast}) = ${n} after ${seen[seen.length - 1]}`);
      t.true(Number.isSafeInteger(n));
      seen.push(n);
    }
    t.is(new Set(seen).size, seen.length);
  });

  test(`actor › ${kind} › past counterMax next throws ACTOR_EXHAUSTED, and stays exhausted`, (t) => {
    const actor = make(t);
    t.is(actor.next(counterMax - 1), counterMax, 'counterMax itself is still handed out');
    actorError(t, () => actor.next(0), 'ACTOR_EXHAUSTED');
    actorError(t, () => actor.next(counterMax), 'ACTOR_EXHAUSTED');
    actorError(t, () => actor.next(0), 'ACTOR_EXHAUSTED');
    actorError(t, () => make(t).next(counterMax), 'ACTOR_EXHAUSTED');
  });
}

test('actor › FileActor › the id is <nodeId>#<epoch> and stays the same on reopen', (t) => {
  const dir = tempDir(t);
  const first = FileActor.open(dir, 'node-a');
  t.regex(first.id, /^node-a#[0-9a-z]{8}$/);
  first.next(0);
  t.is(FileActor.open(dir, 'node-a').id, first.id);
  t.is(FileActor.open(dir, 'node-a').id, first.id, 'and again');
  t.is(stored(dir).id, first.id);
});

test('actor › FileActor › reopening resumes above every counter handed out before', (t) => {
  const dir = tempDir(t);
  const first = FileActor.open(dir, 'node-a');
  const handed = [first.next(0), first.next(0), first.next(41)];
  const reopened = FileActor.open(dir, 'node-a');
  const next = reopened.next(0);
  t.true(next > Math.max(...handed), `resumed at ${next} after ${handed.join(', ')}`);
});

test('actor › FileActor › counters past the first reserved block are covered too: a reopen resumes above them', (t) => {
  const dir = tempDir(t);
  const first = FileActor.open(dir, 'node-a');
  t.is(first.next(counterBlock - 1), counterBlock, 'the last counter of the first block');
  const beyond = first.next(0);
  t.is(beyond, counterBlock + 1, 'the first counter of the next block');
  t.true(stored(dir).ceiling >= beyond, `the file reserved ${beyond} before it was handed out (ceiling ${stored(dir).ceiling})`);
  // No close: a crash right after handing out `beyond`.
  const second = FileActor.open(dir, 'node-a');
  const resumed = second.next(0);
  t.true(resumed > beyond, `resumed at ${resumed}, after ${beyond}`);
  // And once more from the second process's block, far from where the first stopped.
  const last = second.next(resumed + counterBlock);
  t.true(FileActor.open(dir, 'node-a').next(0) > last);
});

test('actor › FileActor › an exhausted actor stays exhausted across a reopen', (t) => {
  const dir = tempDir(t);
  FileActor.open(dir, 'node-a').next(counterMax - 1);
  actorError(t, () => FileActor.open(dir, 'node-a').next(0), 'ACTOR_EXHAUSTED');
});

test('actor › FileActor › a lost actor.json (a lost disk) gives a new id with the same node id', (t) => {
  const dir = tempDir(t);
  const before = FileActor.open(dir, 'node-a');
  before.next(0);
  unlinkSync(join(dir, actorFileName));
  const after = FileActor.open(dir, 'node-a');
  t.regex(after.id, /^node-a#[0-9a-z]{8}$/);
  t.not(after.id, before.id, 'a new epoch: the old counters live on in other replicas\' clocks');
  t.is(stored(dir).id, after.id);
});

test('actor › FileActor › a data dir that does not exist yet is created', (t) => {
  const dir = join(tempDir(t), 'nested', 'data');
  const actor = FileActor.open(dir, 'node-a');
  t.is(stored(dir).id, actor.id);
});

const corrupt: Array<[string, string]> = [
  ['not JSON', '{"id": "node-a#00000001", "ceil'],
  ['empty', ''],
  ['JSON but not an object', '[1, 2]'],
  ['JSON null', 'null'],
  ['a JSON number', '42'],
  ['no id', '{"ceiling": 5}'],
  ['an id that is not a string', '{"id": 7, "ceiling": 5}'],
  ['no ceiling', '{"id": "node-a#00000001"}'],
  ['a negative ceiling', '{"id": "node-a#00000001", "ceiling": -1}'],
  ['a fractional ceiling', '{"id": "node-a#00000001", "ceiling": 1.5}'],
  ['a ceiling as a string', '{"id": "node-a#00000001", "ceiling": "5"}'],
  ['a ceiling past counterMax', `{"id": "node-a#00000001", "ceiling": ${counterMax + 1}}`],
  ['the actor of another node', '{"id": "node-b#00000001", "ceiling": 5}'],
  ['the actor of a node whose id extends this one', '{"id": "node-ab#00000001", "ceiling": 5}'],
  ['a bare node id, without an epoch separator', '{"id": "node-a", "ceiling": 5}'],
  ['an empty epoch', '{"id": "node-a#", "ceiling": 5}'],
  ['an epoch too long for an actor id in a clock', `{"id": "node-a#${'0'.repeat(300)}", "ceiling": 5}`],
  ['an epoch of another shape', '{"id": "node-a#0000#0001", "ceiling": 5}'],
];

for (const [what, text] of corrupt) {
  test(`actor › FileActor › actor.json with ${what} is refused with ACTOR_CORRUPT, and left as it was`, (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, actorFileName), text);
    actorError(t, () => FileActor.open(dir, 'node-a'), 'ACTOR_CORRUPT');
    t.is(readFileSync(join(dir, actorFileName), 'utf8'), text, 'nothing overwrote the evidence');
  });
}

test('actor › FileActor › a well-formed actor.json written before is taken as it is', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, actorFileName), '{"id": "node-a#0a1b2c3d", "ceiling": 777}\n');
  const actor = FileActor.open(dir, 'node-a');
  t.is(actor.id, 'node-a#0a1b2c3d');
  t.true(actor.next(0) > 777);
});

test('actor › FileActor › an actor.json that cannot be read is refused with ACTOR_CORRUPT', (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, actorFileName));
  actorError(t, () => FileActor.open(dir, 'node-a'), 'ACTOR_CORRUPT');
});

test('actor › FileActor › the file is replaced atomically: a new file renamed over the old, no .tmp left behind', (t) => {
  const dir = tempDir(t);
  // A crash mid-write of an earlier reservation left a torn temp file: it is neither read nor left.
  writeFileSync(join(dir, `${actorFileName}.tmp`), '{"id": "node-a#torn');
  const actor = FileActor.open(dir, 'node-a');
  t.deepEqual(readdirSync(dir), [actorFileName]);
  const inodeBefore = statSync(join(dir, actorFileName)).ino;
  const ceilingBefore = stored(dir).ceiling;
  actor.next(ceilingBefore); // past the reserved block: the file is written again
  t.true(stored(dir).ceiling > ceilingBefore, 'a new ceiling was persisted');
  t.not(statSync(join(dir, actorFileName)).ino, inodeBefore, 'a new file took the name (rename), not an in-place rewrite a crash could tear');
  t.deepEqual(readdirSync(dir), [actorFileName]);
  t.is(stored(dir).id, actor.id);
});
