// The options the client commands (status, repair, removenode, plan, decommission) share: where
// the node is and its password, spelled as redis-cli spells them (-h, -p,
// -a, or --host, --port, --password). One parser, so that their errors read
// alike: one line naming the option, and exit code 2 (a ConfigError).

import { ConfigError } from './config.js';

export interface ClientArgs {
  readonly host: string;
  readonly port: number;
  readonly password: string | undefined;
  /** Arguments that are not options, in order (removenode's member id). */
  readonly positional: readonly string[];
}

export interface ClientCommand {
  /** The command's usage line, shown beside an unknown option or argument. */
  readonly usage: string;
  /** Flags that take no value (repair's --all). */
  readonly switches?: readonly string[];
  /** How many positional arguments the command takes (default none). */
  readonly positionalMax?: number;
}

/** The node `npm start`'s cluster puts first, so `ringkv status` works there without flags. */
const portDefault = 7001;
const hostDefault = '127.0.0.1';
const passwordFlags = new Set(['-a', '--password']);
const valueFlags = new Set(['-h', '--host', '-p', '--port', ...passwordFlags]);

export function parseClientArgs(argv: readonly string[], command: ClientCommand): ClientArgs {
  let host = hostDefault;
  let portText: string | undefined;
  let portFlag = '-p';
  let password: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      if (positional.length >= (command.positionalMax ?? 0)) throw new ConfigError(`unexpected argument '${arg}' (${command.usage})`);
      positional.push(arg);
      continue;
    }
    // `--port=7001` as `ringkv start` takes it; short flags take their value as the next argument, as redis-cli's do.
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    if (command.switches?.includes(flag)) {
      if (eq >= 0) throw new ConfigError(`${flag} takes no value`);
      continue;
    }
    if (!valueFlags.has(flag)) throw new ConfigError(`unknown option ${flag} (${command.usage})`);
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    // A password may start with '-'; for the others a following flag means the value was left out.
    if (value === undefined || value === '' || (eq < 0 && !passwordFlags.has(flag) && value.startsWith('-'))) throw new ConfigError(`${flag} needs a value`);
    if (flag === '-h' || flag === '--host') host = value;
    else if (flag === '-p' || flag === '--port') [portText, portFlag] = [value, flag];
    else password = value;
  }
  return { host, port: portOf(portText, portFlag), password, positional };
}

function portOf(text: string | undefined, flag: string): number {
  if (text === undefined) return portDefault;
  if (!/^\d+$/.test(text)) throw new ConfigError(`${flag} needs an integer, got '${text}'`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new ConfigError(`${flag} must be 1..65535, got ${port}`);
  return port;
}
