// The Pub/Sub peer messages: round trips of any bytes, and malformed
// payloads refused with CodecError only.

import test from 'ava';
import fc from 'fast-check';
import { CodecError, encodeControl } from '../../src/peer/codec.js';
import {
  decodePublish, decodePublishReply, decodePubsubQuery, decodePubsubQueryReply, encodePublish, encodePublishReply,
  encodePubsubQuery, encodePubsubQueryReply,
} from '../../src/pubsub/messages.js';

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

test('pubsub messages › Publish round-trips any channel and message, empty ones included', (t) => {
  fc.assert(fc.property(bytes(64), bytes(256), (channel, message) => {
    const decoded = decodePublish(encodePublish({ channel, message }));
    return decoded.channel.equals(channel) && decoded.message.equals(message);
  }));
  t.pass();
});

test('pubsub messages › a Publish whose channel length passes its bytes is refused', (t) => {
  const payload = encodePublish({ channel: Buffer.from('news'), message: Buffer.from('hi') });
  payload.writeUInt32BE(100, 0);
  t.throws(() => decodePublish(payload), { instanceOf: CodecError });
  t.throws(() => decodePublish(Buffer.from([0, 0])), { instanceOf: CodecError });
});

test('pubsub messages › PublishReply round-trips a count and refuses other lengths', (t) => {
  for (const n of [0, 1, 7, 2 ** 32 - 1]) t.is(decodePublishReply(encodePublishReply(n)), n);
  t.throws(() => decodePublishReply(Buffer.alloc(3)), { instanceOf: CodecError });
  t.throws(() => decodePublishReply(Buffer.alloc(5)), { instanceOf: CodecError });
});

test('pubsub messages › PubsubQuery round-trips each kind', (t) => {
  t.deepEqual(decodePubsubQuery(encodePubsubQuery({ kind: 'channels', pattern: undefined })), { kind: 'channels', pattern: undefined });
  const withPattern = decodePubsubQuery(encodePubsubQuery({ kind: 'channels', pattern: Buffer.from([0, 0x2a, 0xff]) }));
  t.true(withPattern.kind === 'channels' && withPattern.pattern!.equals(Buffer.from([0, 0x2a, 0xff])));
  const numsub = decodePubsubQuery(encodePubsubQuery({ kind: 'numsub', channels: [Buffer.from('a'), Buffer.alloc(0)] }));
  t.true(numsub.kind === 'numsub' && numsub.channels.length === 2 && numsub.channels[0]!.equals(Buffer.from('a')));
  t.deepEqual(decodePubsubQuery(encodePubsubQuery({ kind: 'numpat' })), { kind: 'numpat' });
});

test('pubsub messages › malformed queries and replies are CodecErrors', (t) => {
  for (const bad of [{ kind: 'nope' }, { kind: 'channels', pattern: 'text' }, { kind: 'numsub', channels: ['a'] }, { kind: 'numsub' }, 7, null]) {
    t.throws(() => decodePubsubQuery(encodeControl(bad)), { instanceOf: CodecError }, JSON.stringify(bad));
  }
  for (const bad of [{}, { names: ['a'] }, { counts: [-1] }, { counts: [1.5] }, null]) {
    t.throws(() => decodePubsubQueryReply(encodeControl(bad)), { instanceOf: CodecError }, JSON.stringify(bad));
  }
  t.throws(() => decodePubsubQuery(Buffer.alloc(0)), { instanceOf: CodecError });
});

test('pubsub messages › PubsubQueryReply round-trips names, counts and tooLarge', (t) => {
  const names = decodePubsubQueryReply(encodePubsubQueryReply({ names: [Buffer.from('x'), Buffer.from([0xff])] }));
  t.true('names' in names && names.names[1]!.equals(Buffer.from([0xff])));
  t.deepEqual(decodePubsubQueryReply(encodePubsubQueryReply({ counts: [0, 3] })), { counts: [0, 3] });
  t.deepEqual(decodePubsubQueryReply(encodePubsubQueryReply({ tooLarge: true })), { tooLarge: true });
});
