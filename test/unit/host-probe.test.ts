// The host probe without raw sockets: the pure diagnosis (liveness read with
// the host's answer), and the probe loop on virtual time with a scripted
// pinger — each distinct host pinged once a round, a silent pinger cut off
// at the timeout, a pinger that could not ask reported as unknown rather than
// unreachable, hosts that left forgotten, and stop() ending a round in flight.
import test from 'ava';
import { pino } from 'pino';
import {
  diagnose, distinctHosts, HostProbeError, HostProber, type HostDiagnosis, type HostReach, type Pinger,
} from '../../src/membership/host-probe.js';
import { VirtualTime } from '../sim/virtual-time.js';

const logger = pino({ level: 'silent' });
const intervalMs = 5_000;
const timeoutMs = 1_000;

test('host probe › diagnose: liveness read with the host\'s answer', (t) => {
  const cases: Array<['up' | 'down', HostReach, HostDiagnosis]> = [
    ['up', 'reachable', 'up'],
    ['up', 'unreachable', 'up, host ignores ping'],
    ['down', 'reachable', 'host reachable, process down'],
    ['down', 'unreachable', 'host unreachable'],
    ['up', 'off', 'unknown (probe off)'],
    ['down', 'off', 'unknown (probe off)'],
    ['up', 'unknown', 'unknown (not probed yet)'],
    ['down', 'unknown', 'unknown (not probed yet)'],
  ];
  for (const [liveness, reach, expected] of cases) t.is(diagnose(liveness, reach), expected, `${liveness} + ${reach}`);
});

test('host probe › distinctHosts: each host once, in first-seen order', (t) => {
  t.deepEqual(distinctHosts(['127.0.0.1', '10.0.0.2', '127.0.0.1', '127.0.0.1', '10.0.0.1', '10.0.0.2']), ['127.0.0.1', '10.0.0.2', '10.0.0.1']);
  t.deepEqual(distinctHosts([]), []);
});

type Answer = { rttMs: number } | { error: HostProbeError } | 'silent';

/** A pinger that answers from a script after a virtual delay, records each ping, and fails what is in flight on close. */
class ScriptedPinger implements Pinger {
  readonly pings: Array<{ host: string; atMs: number }> = [];
  closed = 0;
  private readonly inFlight = new Set<(err: Error) => void>();

  constructor(private readonly time: VirtualTime, private readonly answer: (host: string) => Answer, private readonly delayMs = 2) {}

  ping(host: string): Promise<number> {
    this.pings.push({ host, atMs: this.time.now() });
    return new Promise<number>((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      this.inFlight.add(fail);
      const answer = this.answer(host);
      if (answer === 'silent') return;
      this.time.setTimeout(() => {
        this.inFlight.delete(fail);
        if ('rttMs' in answer) resolve(answer.rttMs);
        else reject(answer.error);
      }, this.delayMs);
    });
  }

  close(): void {
    this.closed++;
    for (const fail of this.inFlight) fail(new HostProbeError('HOST_PROBE_NO_REPLY', 'Socket forcibly closed'));
    this.inFlight.clear();
  }
}

function prober(time: VirtualTime, pinger: Pinger | undefined, hosts: () => string[]): HostProber {
  return new HostProber({ pinger, hosts, logger, intervalMs, timeoutMs, now: () => time.now(), timers: time });
}

test('host probe › each distinct host pinged once a round, a round every interval', async (t) => {
  const time = new VirtualTime();
  const pinger = new ScriptedPinger(time, () => ({ rttMs: 0.25 }));
  const members = ['127.0.0.1', '127.0.0.1', '127.0.0.1', '10.0.0.2'];
  const p = prober(time, pinger, () => members);
  const startMs = time.now();
  t.is(p.reach('127.0.0.1'), 'unknown', 'nothing known before the first answer');
  p.start();
  p.start(); // a second start is no second loop
  await time.runUntil(() => pinger.pings.length >= 2 * 3, 3 * intervalMs);
  // Three rounds: at start, then one interval after each round ended (answers take 2 ms).
  t.deepEqual(pinger.pings.map((x) => x.host), ['127.0.0.1', '10.0.0.2', '127.0.0.1', '10.0.0.2', '127.0.0.1', '10.0.0.2']);
  t.deepEqual(pinger.pings.map((x) => x.atMs - startMs), [0, 0, intervalMs + 2, intervalMs + 2, 2 * (intervalMs + 2), 2 * (intervalMs + 2)]);
  await time.runUntil(() => p.result('10.0.0.2')?.lastProbeMs === startMs + 2 * (intervalMs + 2), 100);
  t.is(p.reach('127.0.0.1'), 'reachable');
  t.deepEqual(p.result('10.0.0.2'), { reachable: true, rttMs: 0.25, lastProbeMs: startMs + 2 * (intervalMs + 2) });
  await p.stop();
});

test('host probe › a host whose echo never comes back is unreachable at the timeout', async (t) => {
  const time = new VirtualTime();
  const pinger = new ScriptedPinger(time, (host) => (host === '10.0.0.9' ? 'silent' : { rttMs: 1 }));
  const p = prober(time, pinger, () => ['10.0.0.1', '10.0.0.9']);
  const startMs = time.now();
  p.start();
  await time.runUntil(() => p.reach('10.0.0.9') !== 'unknown', 2 * timeoutMs);
  t.is(time.now() - startMs, timeoutMs, 'cut off by the prober\'s own timer, though the pinger never settles');
  t.is(p.reach('10.0.0.9'), 'unreachable');
  t.is(p.result('10.0.0.9')?.rttMs, undefined);
  t.is(p.reach('10.0.0.1'), 'reachable');
  // The next round starts an interval after that one ended: a silent host does not stall the loop.
  await time.runUntil(() => pinger.pings.length === 4, intervalMs + 1);
  t.is(time.now() - startMs, timeoutMs + intervalMs);
  await p.stop();
});

test('host probe › an ICMP error is unreachable; a ping this node could not send is unknown, not unreachable', async (t) => {
  const time = new VirtualTime();
  const script = new Map<string, Answer>([
    ['10.0.0.3', { error: new HostProbeError('HOST_PROBE_NO_REPLY', 'Destination unreachable (source=10.0.0.254)') }],
    ['10.0.0.4', { rttMs: 2 }],
    ['db-3.internal', { error: new HostProbeError('HOST_PROBE_FAILED', 'cannot resolve db-3.internal') }],
  ]);
  const pinger = new ScriptedPinger(time, (host) => script.get(host)!);
  const p = prober(time, pinger, () => [...script.keys()]);
  p.start();
  await time.runUntil(() => p.reach('10.0.0.3') !== 'unknown' && p.reach('10.0.0.4') !== 'unknown', timeoutMs);
  t.is(p.reach('10.0.0.3'), 'unreachable');
  t.is(p.reach('10.0.0.4'), 'reachable');
  t.is(p.reach('db-3.internal'), 'unknown');
  t.is(p.result('db-3.internal'), undefined);
  // Next round the first host answers and this node can no longer ask about the second: reachable, and unknown.
  script.set('10.0.0.3', { rttMs: 3 });
  script.set('10.0.0.4', { error: new HostProbeError('HOST_PROBE_FAILED', 'cannot open a raw ICMPv4 socket') });
  await time.runUntil(() => p.reach('10.0.0.3') === 'reachable', intervalMs + timeoutMs);
  await time.runUntil(() => p.reach('10.0.0.4') === 'unknown', timeoutMs);
  t.is(p.result('10.0.0.3')?.rttMs, 3);
  await p.stop();
});

test('host probe › a host no longer among the members is forgotten', async (t) => {
  const time = new VirtualTime();
  const pinger = new ScriptedPinger(time, () => ({ rttMs: 1 }));
  let members = ['10.0.0.1', '10.0.0.2'];
  const p = prober(time, pinger, () => members);
  p.start();
  await time.runUntil(() => p.reach('10.0.0.2') === 'reachable', timeoutMs);
  members = ['10.0.0.1'];
  await time.runUntil(() => pinger.pings.length === 3, intervalMs + timeoutMs);
  await time.runUntil(() => p.reach('10.0.0.2') === 'unknown', timeoutMs);
  t.is(p.reach('10.0.0.1'), 'reachable');
  t.deepEqual(pinger.pings.slice(2).map((x) => x.host), ['10.0.0.1']);
  await p.stop();
});

test('host probe › off: no pinger, every host reports off, start pings nothing', async (t) => {
  const time = new VirtualTime();
  let asked = 0;
  const p = prober(time, undefined, () => {
    asked++;
    return ['127.0.0.1'];
  });
  t.false(p.on);
  p.start();
  await advance(time, 3 * intervalMs);
  t.is(asked, 0, 'no round ran');
  t.is(p.reach('127.0.0.1'), 'off');
  t.is(diagnose('down', p.reach('127.0.0.1')), 'unknown (probe off)');
  await p.stop();
});

test('host probe › stop: ends the round in flight at once, closes the pinger, and no round follows', async (t) => {
  const time = new VirtualTime();
  const pinger = new ScriptedPinger(time, () => 'silent');
  const p = prober(time, pinger, () => ['10.0.0.1', '10.0.0.2']);
  t.true(p.on);
  p.start();
  await time.runUntil(() => pinger.pings.length === 2, 10);
  const startedMs = time.now();
  await p.stop();
  t.is(time.now(), startedMs, 'closing the pinger failed its pings: no wait for the timeout');
  t.is(pinger.closed, 1);
  t.is(p.reach('10.0.0.1'), 'unknown', 'what a closing socket says is not recorded');
  await advance(time, 5 * intervalMs);
  t.is(pinger.pings.length, 2, 'no round after stop');
});

/** Runs virtual time forward by `ms`, firing whatever falls due. */
async function advance(time: VirtualTime, ms: number): Promise<void> {
  let done = false;
  time.setTimeout(() => {
    done = true;
  }, ms);
  await time.runUntil(() => done, ms + 1);
}
