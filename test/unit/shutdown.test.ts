// The shutdown sequence's bounds, with steps that hang on purpose: no step
// may hold the process past the deadline, a second signal ends the wait at
// once, and what was left behind is named in the log.

import { Writable } from 'node:stream';
import test from 'ava';
import { pino } from 'pino';
import { runShutdown, ShutdownError, type ShutdownStep } from '../../src/cli/node.js';

function capturingLogger(): { logger: pino.Logger; lines: Array<{ msg: string; step?: string }> } {
  const lines: Array<{ msg: string; step?: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const never = new Promise<void>(() => undefined);

function recorder(): { steps: (name: string, run: () => Promise<void>) => ShutdownStep; started: string[] } {
  const started: string[] = [];
  return {
    started,
    steps: (name, run) => ({ name, run: () => (started.push(name), run()) }),
  };
}

test('shutdown › steps run in order and resolve when all finish', async (t) => {
  const { logger } = capturingLogger();
  const { steps, started } = recorder();
  await runShutdown([steps('a', async () => undefined), steps('b', async () => undefined)], { deadlineMs: 1000, interrupted: never, logger });
  t.deepEqual(started, ['a', 'b']);
});

test('shutdown › a step that hangs is left behind at the deadline; later steps still start', async (t) => {
  const { logger, lines } = capturingLogger();
  const { steps, started } = recorder();
  const began = Date.now();
  const error = await t.throwsAsync(
    runShutdown([steps('hangs', () => never), steps('after', async () => undefined)], { deadlineMs: 200, interrupted: never, logger }),
    { instanceOf: ShutdownError },
  );
  t.is(error?.code, 'SHUTDOWN_TIMEOUT');
  t.regex(error?.message ?? '', /hangs/);
  t.deepEqual(started, ['hangs', 'after']);
  t.true(Date.now() - began < 5000, 'bounded by the deadline, not by the hung step');
  t.true(lines.some((l) => l.step === 'hangs' && /deadline/.test(l.msg)), JSON.stringify(lines));
});

test('shutdown › a second signal ends the wait at once', async (t) => {
  const { logger, lines } = capturingLogger();
  const { steps, started } = recorder();
  let signal: () => void = () => undefined;
  const interrupted = new Promise<void>((resolve) => {
    signal = resolve;
  });
  const running = runShutdown([steps('hangs', () => never), steps('after', async () => undefined)], { deadlineMs: 60_000, interrupted, logger });
  setTimeout(signal, 50);
  const error = await t.throwsAsync(running, { instanceOf: ShutdownError });
  t.is(error?.code, 'SHUTDOWN_INTERRUPTED');
  t.deepEqual(started, ['hangs']);
  t.true(lines.some((l) => /second signal/.test(l.msg)));
});

test('shutdown › a step that fails is logged, the others still run, and the shutdown is not clean', async (t) => {
  const { logger, lines } = capturingLogger();
  const { steps, started } = recorder();
  const error = await t.throwsAsync(
    runShutdown([steps('fails', () => Promise.reject(new Error('boom'))), steps('after', async () => undefined)], { deadlineMs: 1000, interrupted: never, logger }),
    { instanceOf: ShutdownError },
  );
  t.is(error?.code, 'SHUTDOWN_FAILED');
  t.deepEqual(started, ['fails', 'after']);
  t.true(lines.some((l) => l.step === 'fails'));
});
