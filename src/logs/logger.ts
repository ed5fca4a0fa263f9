// The node's logger, and what it does when the process crashes.
//
// json (the default) is pino's own: one JSON object a line on stdout, for a
// log pipeline (Loki, Elasticsearch, journald) to index. pretty runs the same
// records through pino-pretty in this process, synchronously, for a person at
// a terminal: no worker thread (pino's transports run in one), so nothing is
// lost when the process exits at once, and nothing more to stop at shutdown.
//
// A crash — an exception nothing caught, a promise rejection nothing handled
// — is logged as one fatal record with its stack, written synchronously
// before the process exits with code 1 (Node's own code for an uncaught
// exception), instead of Node's multi-line trace on stderr that a log
// pipeline splits into unrelated lines.

import pino, { type Logger } from 'pino';

export type LogFormat = 'json' | 'pretty';

/** Node's exit code for an uncaught exception. */
export const crashExitCode = 1;

/** pino-pretty is loaded only for the pretty format: every other start, and every other ringkv command, skips its modules. */
export async function createLogger(options: { level: string; format: LogFormat }): Promise<Logger> {
  const settings = { level: options.level, base: { pid: process.pid } };
  if (options.format === 'json') return pino(settings);
  const { default: pretty } = await import('pino-pretty');
  return pino(settings, pretty({
    sync: true,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname',
  }));
}

/**
 * Logs an uncaught exception or unhandled rejection as one fatal record with
 * its stack, then exits. Returns a function that removes the handlers.
 */
export function logCrashes(logger: Logger, exit: (code: number) => void = (code) => process.exit(code)): () => void {
  const onException = (err: Error, origin: string): void => {
    logger.fatal({ err, origin }, 'crash: uncaught exception');
    exit(crashExitCode);
  };
  const onRejection = (reason: unknown): void => {
    // A rejection with a non-Error carries no stack: one is made here, so the line still says where the process was.
    const err = reason instanceof Error ? reason : Object.assign(new Error(`non-error rejection: ${String(reason)}`), { reason });
    logger.fatal({ err, origin: 'unhandledRejection' }, 'crash: unhandled promise rejection');
    exit(crashExitCode);
  };
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
