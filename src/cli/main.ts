// The `ringkv` command: `start` runs one node in the foreground, `cluster`
// a local cluster of child processes, `status` a table of the members,
// `repair` anti-entropy now with a progress bar, `plan`, `decommission` and
// `removenode` membership changes, `version` the package's version.
// Configuration errors print one line and exit with code 2.

import { readFileSync } from 'node:fs';
import { createLogger, logCrashes } from '../logs/logger.js';
import { runCluster } from './cluster.js';
import { ConfigError, resolveConfig, usage } from './config.js';
import { RingkvNode } from './node.js';
import { runDecommission, runPlan } from './decommission.js';
import { runRemoveNode } from './removenode.js';
import { runRepair } from './repair.js';
import { runStatus } from './status.js';

const exitConfig = 2;

async function start(argv: string[]): Promise<void> {
  const config = resolveConfig(argv);
  const logger = await createLogger({ level: config.logLevel, format: config.logFormat });
  // From here a crash is one fatal log record with its stack (logs/logger.ts), not a trace on stderr.
  logCrashes(logger);
  let node: RingkvNode;
  try {
    node = await RingkvNode.start(config, logger);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'IDENTITY_CONFLICT' || code === 'IDENTITY_INVALID' || code === 'IDENTITY_CORRUPT') {
      throw new ConfigError((err as Error).message);
    }
    if (err instanceof ConfigError) throw err;
    logger.fatal({ err }, 'node failed to start');
    process.exit(1);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'signal received');
    node.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/**
 * The version in the package.json three levels above this compiled file
 * (dist/src/cli/): it sits there in a checkout, in an npm install and in the
 * Docker image alike, and is the one place the version is written.
 */
function packageVersion(): string {
  const file = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
    case 'cluster':
      // `ringkv start --help` is what a newcomer types (-h only first: later it could be an option's value).
      if (rest[0] === '-h' || rest.includes('--help')) {
        process.stdout.write(`${usage()}\n`);
        return;
      }
      return command === 'start' ? start(rest) : runCluster(rest);
    case 'status':
      return runStatus(rest);
    case 'repair':
      process.exitCode = await runRepair(rest);
      return;
    case 'removenode':
      process.exitCode = await runRemoveNode(rest);
      return;
    case 'decommission':
      process.exitCode = await runDecommission(rest);
      return;
    case 'plan':
      process.exitCode = await runPlan(rest);
      return;
    case 'migrate': {
      // Loaded only here: its Redis client library costs every other command ~0.1-0.4 s of start-up.
      const { migrate } = await import('./migrate.js');
      process.exitCode = await migrate(rest);
      return;
    }
    case 'version':
    case '--version':
    case '-v':
      process.stdout.write(`ringkv ${packageVersion()}\n`);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${usage()}\n`);
      return;
    default:
      throw new ConfigError(`unknown command '${command}' (try: ringkv help)`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`ringkv: ${err.message}\n`);
    process.exit(exitConfig);
  }
  process.stderr.write(`ringkv: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
