import test from 'ava';
import { buildCommandTable, lookupCommand } from '../../src/commands/table.js';
import type { CommandSpec } from '../../src/commands/types.js';

const table = buildCommandTable();

test('lookup › every command is found by its name in any case, from bytes', (t) => {
  for (const spec of new Set(table.values())) {
    const name = spec.name;
    const mixed = [...name].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c)).join('');
    for (const sent of [name, name.toUpperCase(), mixed]) t.is(lookupCommand(table, Buffer.from(sent)), spec, sent);
  }
});

test('lookup › near misses and non-letters are unknown, as with strcasecmp', (t) => {
  for (const sent of ['', 'ge', 'gett', 'g\u00c9t', 'GE\u0000', 'get ', 'g3t', '\u00e7et', 'GET\r']) {
    t.is(lookupCommand(table, Buffer.from(sent, 'latin1')), undefined, JSON.stringify(sent));
  }
  // A byte whose ASCII-case twin is a letter: '@' is 'A' minus 1 and '`' is 'a' minus 1, neither folds.
  t.is(lookupCommand(table, Buffer.from('@et')), undefined);
});

test('lookup › the table itself decides: a name added after the first lookup is found, one removed is not', (t) => {
  const own = new Map<string, CommandSpec>(table);
  t.truthy(lookupCommand(own, Buffer.from('GET')));
  const extra = { ...table.get('get')!, name: 'zzznew' };
  own.set('zzznew', extra);
  t.is(lookupCommand(own, Buffer.from('ZZZNEW')), extra);
  own.delete('get');
  own.delete('GET');
  t.is(lookupCommand(own, Buffer.from('get')), undefined);
});
