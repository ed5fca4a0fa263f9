import test from 'ava';
import { globMatch } from '../../src/commands/glob.js';

const cases: [string, string, boolean][] = [
  ['*', '', true], ['*', 'anything', true], ['h?llo', 'hello', true], ['h?llo', 'hllo', false],
  ['h*llo', 'heeeello', true], ['h[ae]llo', 'hallo', true], ['h[ae]llo', 'hillo', false],
  ['h[^e]llo', 'hallo', true], ['h[^e]llo', 'hello', false], ['h[a-b]llo', 'hbllo', true],
  ['h[a-b]llo', 'hcllo', false], ['h\\*llo', 'h*llo', true], ['h\\*llo', 'hello', false],
  ['a*b*c', 'axxbyyc', true], ['a*b*c', 'axxbyy', false], ['user:*', 'user:1', true], ['user:*', 'usr:1', false],
];

for (const [pattern, subject, expected] of cases) {
  test(`glob › ${pattern} ${expected ? 'matches' : 'does not match'} '${subject}'`, (t) => {
    t.is(globMatch(Buffer.from(pattern), Buffer.from(subject)), expected);
  });
}

test('glob › nocase', (t) => {
  t.true(globMatch(Buffer.from('max*'), Buffer.from('MAXCLIENTS'.toLowerCase()), true));
  t.true(globMatch(Buffer.from('MAX*'), Buffer.from('maxclients'), true));
});

test('glob › a hostile pattern stays linear', (t) => {
  const subject = Buffer.from('a'.repeat(5000));
  const started = Date.now();
  t.false(globMatch(Buffer.from('*a*a*a*a*a*a*a*b'), subject));
  t.true(Date.now() - started < 2000);
});
