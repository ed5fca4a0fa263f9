// The options of the client commands (status, repair, removenode): redis-cli's
// -h/-p/-a, and every mistake a one-line ConfigError naming the option.

import test from 'ava';
import { parseClientArgs } from '../../src/cli/client-args.js';
import { ConfigError } from '../../src/cli/config.js';

const status = { usage: 'ringkv status [-h HOST] [-p PORT] [-a PASSWORD]' };
const repair = { usage: 'ringkv repair [--all]', switches: ['--all'] };

test('client args › defaults to npm start\'s first node; short, long and --flag=value forms', (t) => {
  t.deepEqual(parseClientArgs([], status), { host: '127.0.0.1', port: 7001, password: undefined, positional: [] });
  t.deepEqual(parseClientArgs(['-h', '10.0.0.1', '--port=7003', '-a', '-secret-'], status),
    { host: '10.0.0.1', port: 7003, password: '-secret-', positional: [] });
  t.deepEqual(parseClientArgs(['node-3', '--all', '-p', '7002'], { ...repair, positionalMax: 1 }),
    { host: '127.0.0.1', port: 7002, password: undefined, positional: ['node-3'] });
});

test('client args › each mistake is one line naming the option and what was given', (t) => {
  const cases: [string[], string][] = [
    [['-p', 'abc'], "-p needs an integer, got 'abc'"],
    [['--port', '70000'], '--port must be 1..65535, got 70000'],
    [['-p'], '-p needs a value'],
    [['-h', '-p', '7001'], '-h needs a value'],
    [['--host='], '--host needs a value'],
    [['--all=yes'], '--all takes no value'],
    [['--verbose'], 'unknown option --verbose (ringkv repair [--all])'],
    [['extra'], "unexpected argument 'extra' (ringkv repair [--all])"],
  ];
  for (const [argv, message] of cases) {
    const err = t.throws(() => parseClientArgs(argv, repair), { instanceOf: ConfigError }, argv.join(' '));
    t.is(err!.message, message, argv.join(' '));
  }
});
