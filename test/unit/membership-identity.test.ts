// A node's identity lives in its data dir: created once, reloaded unchanged on
// restart with a strictly larger generation, and a configuration that
// contradicts it is refused with IDENTITY_CONFLICT.
import test from 'ava';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IdentityError, identityFileName, loadIdentity } from '../../src/membership/identity.js';
import { splitmix64 } from '../../src/ring/index.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ringkv-identity-'));
  try {
    await fn(join(dir, 'data'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('identity › created on first start, reloaded unchanged on restart', async (t) => {
  await withDir(async (dir) => {
    const first = await loadIdentity({ dataDir: dir, vnodes: 16, nowMs: 5_000, randomToken: splitmix64(1n) });
    t.regex(first.nodeId, /^node-[0-9a-f]{8}$/);
    t.is(first.tokens.length, 16);
    t.is(first.generation, 5_000);
    const stored = JSON.parse(await readFile(join(dir, identityFileName), 'utf8'));
    t.deepEqual(stored.tokens, first.tokens.map(String));
    t.deepEqual(await readdir(dir), [identityFileName], 'no temp file left behind');

    const again = await loadIdentity({ dataDir: dir, vnodes: 16, nowMs: 9_000 });
    t.is(again.nodeId, first.nodeId);
    t.deepEqual(again.tokens, first.tokens);
    t.is(again.createdAt, first.createdAt);
    t.is(again.generation, 9_000);
  });
});

test('identity › the generation grows even when the clock went back', async (t) => {
  await withDir(async (dir) => {
    const first = await loadIdentity({ dataDir: dir, nodeId: 'n1', vnodes: 4, nowMs: 10_000 });
    const second = await loadIdentity({ dataDir: dir, nodeId: 'n1', vnodes: 4, nowMs: 3_000 });
    t.is(second.generation, first.generation + 1);
  });
});

test('identity › a different --node-id or vnode count is IDENTITY_CONFLICT', async (t) => {
  await withDir(async (dir) => {
    await loadIdentity({ dataDir: dir, nodeId: 'alpha', vnodes: 8 });
    const idClash = await t.throwsAsync(loadIdentity({ dataDir: dir, nodeId: 'beta', vnodes: 8 }), { instanceOf: IdentityError });
    t.is(idClash?.code, 'IDENTITY_CONFLICT');
    t.regex(idClash?.message ?? '', /beta.*alpha/);
    t.notRegex(idClash?.message ?? '', /\n/);
    const vnodeClash = await t.throwsAsync(loadIdentity({ dataDir: dir, nodeId: 'alpha', vnodes: 9 }), { instanceOf: IdentityError });
    t.is(vnodeClash?.code, 'IDENTITY_CONFLICT');
    const same = await loadIdentity({ dataDir: dir, vnodes: 8 });
    t.is(same.nodeId, 'alpha', 'no --node-id on restart keeps the stored one');
  });
});

test('identity › a corrupt file or an unusable node id is refused', async (t) => {
  await withDir(async (dir) => {
    const bad = await t.throwsAsync(loadIdentity({ dataDir: dir, nodeId: 'has space', vnodes: 4 }), { instanceOf: IdentityError });
    t.is(bad?.code, 'IDENTITY_INVALID');
    await loadIdentity({ dataDir: dir, nodeId: 'ok', vnodes: 4 });
    await writeFile(join(dir, identityFileName), '{"nodeId": "ok", "tokens": [');
    const corrupt = await t.throwsAsync(loadIdentity({ dataDir: dir, vnodes: 4 }), { instanceOf: IdentityError });
    t.is(corrupt?.code, 'IDENTITY_CORRUPT');
  });
});
