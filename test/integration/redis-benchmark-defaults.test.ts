// Issue 12's target: redis-benchmark with its default test set (PING, SET,
// GET, INCR, LPUSH, RPUSH, LPOP, RPOP, SADD, HSET, SPOP, ZADD, ZPOPMIN, the
// LRANGE family and MSET) runs against a 3-node cluster (N=3 R=2 W=2)
// without an error reply. Throughput is the benchmarks' business (npm run
// bench); here only that every test ran, answered, and left the keys it
// writes holding what it wrote.
import { spawn } from 'node:child_process';
import test from 'ava';
import { startCluster, type Cluster } from '../helpers/cluster.js';

let cluster: Cluster | undefined;

test.before(async () => {
  cluster = await startCluster({ nodes: 3, n: 3, r: 2, w: 2 });
});

test.after.always(async () => {
  await cluster?.cleanup();
});

/** Requests per test: enough to grow the benchmark's one list to thousands of elements and page it with LRANGE_600. */
const requests = 1000;
const expectedTests = [
  'PING_INLINE', 'PING_MBULK', 'SET', 'GET', 'INCR', 'LPUSH', 'RPUSH', 'LPOP', 'RPOP', 'SADD', 'HSET', 'SPOP', 'ZADD', 'ZPOPMIN',
  'LPUSH (needed to benchmark LRANGE)', 'LRANGE_100 (first 100 elements)', 'LRANGE_300 (first 300 elements)',
  'LRANGE_500 (first 500 elements)', 'LRANGE_600 (first 600 elements)', 'MSET (10 keys)',
];

function benchmark(port: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // -e prints every error reply (at most one a second); --csv one line per test.
    const child = spawn('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-n', String(requests), '-c', '20', '-e', '--csv'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('redis-benchmark › every default test runs against a 3-node cluster without an error reply', async (t) => {
  t.timeout(320_000);
  const node = cluster!.nodes[0]!;
  const { code, stdout, stderr } = await benchmark(node.port);
  t.is(code, 0, stderr);
  const lines = stdout.split(/\r?\n|\r/).filter((l) => l.trim() !== '');
  const errors = lines.filter((l) => /error|ERR|WRONGTYPE|NOQUORUM/i.test(l) && !l.startsWith('"test"'));
  t.deepEqual(errors, [], 'no error replies');
  const rows = new Map(lines.filter((l) => l.startsWith('"') && !l.startsWith('"test"')).map((l) => {
    const [name, rps] = l.split('","').map((f) => f.replace(/"/g, ''));
    return [name!, Number(rps)] as const;
  }));
  for (const name of expectedTests) t.true((rows.get(name) ?? 0) > 0, `${name} ran: ${rows.get(name)}`);
  t.log([...rows].map(([name, rps]) => `${name.split(' ')[0]} ${Math.round(rps)}/s`).join(', '));
  // What the tests left: the list got 3 × requests pushes and 2 × requests pops; INCR counted every request.
  const c = node.client();
  t.is(await c.llen('mylist'), requests);
  // Without -r every SADD adds the one member "element:__rand_int__", which the SPOPs then take: the set is gone, as in Redis.
  t.is(await c.exists('myset'), 0);
  t.is(await c.type('myhash'), 'hash');
  t.is(await c.type('counter:__rand_int__'), 'string');
  t.is(await c.get('counter:__rand_int__'), String(requests));
});
