// The key filter (storage/key-filter.ts): never "absent" for a key added, few
// false positives, layers that grow up to the byte bound, then "may hold" for all.
import test from 'ava';
import fc from 'fast-check';
import { KeyFilter, keyFilterBitsPerKey } from '../../src/storage/key-filter.js';
import { tokenOf } from '../../src/storage/keys.js';

const token = (i: number): Buffer => tokenOf(Buffer.from(`key:${i}`));

test('key filter › every key added is answered "may hold", at any offset', (t) => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }), { maxLength: 300 }), fc.nat(4), (digests, offset) => {
    const filter = new KeyFilter(64);
    const padded = digests.map((d) => Buffer.concat([Buffer.alloc(offset), Buffer.from(d)]));
    for (const d of padded) filter.add(d, offset);
    return padded.every((d) => filter.mayHold(d, offset));
  }));
  t.pass();
});

test('key filter › an empty filter holds nothing; false positives stay under 1% per layer as layers grow', (t) => {
  const filter = new KeyFilter(1024);
  t.false(filter.mayHold(token(0)));
  const added = 20_000;
  for (let i = 0; i < added; i++) filter.add(token(i));
  for (let i = 0; i < added; i++) t.true(filter.mayHold(token(i)));
  const { layers, saturated } = filter.usage();
  t.false(saturated);
  t.true(layers >= 5, `${layers} layers for ${added} keys from 1024`);
  let positives = 0;
  const probes = 20_000;
  for (let i = added; i < added + probes; i++) if (filter.mayHold(token(i))) positives++;
  // Each layer ~0.8% when full; a key absent from all is a false positive in any of them.
  t.true(positives / probes < 0.01 * layers, `${positives} false positives of ${probes} with ${layers} layers`);
});

test('key filter › past its byte bound it stops growing and answers "may hold" for every key', (t) => {
  const firstLayerKeys = 100;
  // Room for the first two layers only (100 and 200 keys).
  const bytesMax = Math.ceil((300 * keyFilterBitsPerKey) / 32) * 4 + 8;
  const filter = new KeyFilter(firstLayerKeys, bytesMax);
  for (let i = 0; i < 300; i++) filter.add(token(i));
  t.false(filter.usage().saturated);
  filter.add(token(300));
  t.true(filter.usage().saturated);
  t.true(filter.usage().bytes <= bytesMax);
  for (let i = 301; i < 400; i++) t.true(filter.mayHold(token(i)), 'a key never added may be held once saturated');
});

test('key filter › reset forgets every key and the saturation', (t) => {
  const filter = new KeyFilter(10, Math.ceil((10 * keyFilterBitsPerKey) / 32) * 4);
  for (let i = 0; i < 20; i++) filter.add(token(i));
  t.true(filter.usage().saturated);
  filter.reset();
  t.false(filter.usage().saturated);
  t.false(filter.mayHold(token(0)) && filter.mayHold(token(1)) && filter.mayHold(token(2)));
  filter.add(token(5));
  t.true(filter.mayHold(token(5)));
});
