import test from 'ava';
import { buildCommandTable } from '../../src/commands/table.js';
import { parseSyntax, renderSyntax } from '../../src/commands/syntax.js';

test('syntax › SET renders back as Redis help shows it', (t) => {
  const syntax = 'key value [NX|XX] [GET] [EX seconds|PX milliseconds|KEEPTTL]';
  const args = parseSyntax(syntax);
  t.is(renderSyntax(args), syntax);
  t.deepEqual(args[0], { name: 'key', type: 'key' });
  t.is(args[2]!.type, 'oneof');
  t.true(args[2]!.optional);
  t.deepEqual(args[4]!.arguments![0], { name: 'seconds', type: 'integer', token: 'EX' });
});

test('syntax › repetition and blocks', (t) => {
  t.is(renderSyntax(parseSyntax('key [key ...]')), 'key [key ...]');
  const mset = parseSyntax('key value [key value ...]');
  t.is(mset.length, 1);
  t.is(mset[0]!.type, 'block');
  t.true(mset[0]!.multiple);
  t.deepEqual(parseSyntax('key [key ...]'), [{ name: 'key', type: 'key', multiple: true }]);
  t.is(renderSyntax(mset), 'key value [key value ...]');
});

test('syntax › every command in the table round-trips its syntax', (t) => {
  for (const spec of new Set(buildCommandTable().values())) {
    const rendered = renderSyntax(spec.arguments);
    t.is(renderSyntax(parseSyntax(rendered)), rendered, spec.name);
  }
});
