// A compatibility smoke run: the same ioredis calls against any server that
// claims to be Redis — ringkv or redis-server — printing each result, so the
// two outputs can be compared line by line:
//
//   node compat/ioredis-smoke.mjs 7001 > ringkv.txt
//   redis-server --port 6399 --save '' & node compat/ioredis-smoke.mjs 6399 > redis.txt
//   diff ringkv.txt redis.txt
//
// Both RESP3 (ioredis 6's default) and RESP2 are exercised.

import { Redis } from 'ioredis';

const port = Number(process.argv[2] ?? 7001);
const prefix = `compat:${process.pid}:`;

async function run(protocol) {
  const r = new Redis({ port, protocol, maxRetriesPerRequest: 1 });
  const k = (name) => `${prefix}${protocol}:${name}`;
  const steps = [
    ['SET', () => r.set(k('a'), 'v')],
    ['GET', () => r.get(k('a'))],
    ['GET missing', () => r.get(k('missing'))],
    ['SET NX on existing', () => r.set(k('a'), 'w', 'NX')],
    ['SET GET', () => r.set(k('a'), 'w', 'GET')],
    ['APPEND', () => r.append(k('a'), 'xyz')],
    ['STRLEN', () => r.strlen(k('a'))],
    ['GETRANGE', () => r.getrange(k('a'), 1, -2)],
    ['SETRANGE', () => r.setrange(k('a'), 6, '!')],
    ['GETBUFFER', () => r.getBuffer(k('a')).then((b) => [...b])],
    ['EXPIRE', () => r.expire(k('a'), 100)],
    ['TTL', () => r.ttl(k('a'))],
    ['PERSIST', () => r.persist(k('a'))],
    ['TYPE', () => r.type(k('a'))],
    ['MSET', () => r.mset(k('m1'), '1', k('m2'), '2')],
    ['MGET', () => r.mget(k('m1'), k('m2'), k('m3'))],
    ['EXISTS', () => r.exists(k('m1'), k('m3'))],
    ['DEL', () => r.del(k('a'), k('m1'), k('m2'), k('m3'))],
    ['GETDEL missing', () => r.getdel(k('a'))],
    ['unknown command', () => r.call('NOSUCHCMD', 'x')],
    ['wrong arity', () => r.call('GET')],
    ['not an integer', () => r.call('EXPIRE', k('a'), 'x')],
    ['SELECT 1', () => r.call('SELECT', '1')],
    ['CONFIG GET databases', () => r.call('CONFIG', 'GET', 'databases')],
  ];
  for (const [name, step] of steps) {
    let out;
    try {
      out = JSON.stringify(await step());
    } catch (err) {
      out = `error: ${err.message}`;
    }
    console.log(`resp${protocol} ${name}: ${out}`);
  }
  r.disconnect();
}

await run(3);
await run(2);
