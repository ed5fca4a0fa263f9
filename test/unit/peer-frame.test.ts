import test from 'ava';
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import {
  FrameDecoder,
  FrameFlags,
  FrameWriter,
  checksum,
  encodeFrame,
  frameBytesMax,
  frameHeaderBytes,
  handshakeFrameBytesMax,
  payloadCopyBytesMax,
  validateHeader,
  type Frame,
  type FrameFlag,
  type FrameSink,
} from '../../src/peer/frame.js';

interface Spec {
  type: number;
  flags: FrameFlag;
  correlationId: number;
  payload: Buffer;
}

const specs: Spec[] = [
  { type: 5, flags: FrameFlags.Request, correlationId: 1, payload: Buffer.from('hello') },
  { type: 6, flags: FrameFlags.Reply, correlationId: 1, payload: Buffer.alloc(0) },
  { type: 0, flags: FrameFlags.ErrorReply, correlationId: 0xffff_ffff, payload: Buffer.from([0, 1, 2, 255]) },
  { type: 255, flags: FrameFlags.Request, correlationId: 42, payload: Buffer.alloc(300, 7) },
];

const wire = Buffer.concat(specs.map((s) => encodeFrame(s.type, s.flags, s.correlationId, s.payload)));

function plain(frame: Frame): Spec {
  return { type: frame.type, flags: frame.flags, correlationId: frame.correlationId, payload: Buffer.from(frame.payload) };
}

function decodeChunks(chunks: Buffer[], decoder = new FrameDecoder()): Spec[] {
  const out: Spec[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let f = decoder.next(); f !== null; f = decoder.next()) out.push(plain(f));
  }
  return out;
}

/** A header with the given raw fields and a correct header checksum. */
function header(fields: { frameBytes: number; version?: number; type?: number; flags?: number; reserved?: number }): Buffer {
  const h = Buffer.alloc(frameHeaderBytes);
  h.writeUInt32BE(fields.frameBytes, 0);
  h[4] = fields.version ?? 1;
  h[5] = fields.type ?? 1;
  h[6] = fields.flags ?? FrameFlags.Request;
  h[7] = fields.reserved ?? 0;
  h.writeUInt32BE(crc32(Buffer.alloc(0)), 12);
  h.writeUInt32BE(crc32(h.subarray(0, 16)), 16);
  return h;
}

test('frame › checksum › equals zlib crc32 on either side of the native cut-over (property)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(20), (bytes, skip) => {
      const buf = Buffer.from(bytes);
      const start = Math.min(skip, buf.length);
      t.is(checksum(buf, start, buf.length), crc32(buf.subarray(start)));
    }),
    { seed: 11, numRuns: 300 },
  );
});

test('frame › decoder › fed whole', (t) => {
  t.deepEqual(decodeChunks([wire]), specs);
});

test('frame › decoder › fed byte by byte', (t) => {
  const bytes = [...wire].map((b) => Buffer.from([b]));
  t.deepEqual(decodeChunks(bytes), specs);
});

test('frame › decoder › split at every boundary', (t) => {
  for (let i = 0; i <= wire.length; i++) {
    t.deepEqual(decodeChunks([wire.subarray(0, i), wire.subarray(i)]), specs, `split at ${i}`);
  }
});

test('frame › decoder › any chunking of any frames (property)', (t) => {
  const spec = fc.record({
    type: fc.integer({ min: 0, max: 255 }),
    flags: fc.constantFrom<FrameFlag>(FrameFlags.Request, FrameFlags.Reply, FrameFlags.ErrorReply),
    correlationId: fc.integer({ min: 0, max: 0xffff_ffff }),
    payload: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  });
  fc.assert(
    fc.property(fc.array(spec, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1 }), (frames, cuts) => {
      const bytes = Buffer.concat(frames.map((s) => encodeFrame(s.type, s.flags, s.correlationId, s.payload)));
      const chunks: Buffer[] = [];
      for (let at = 0, i = 0; at < bytes.length; i++) {
        const size = cuts[i % cuts.length]!;
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      t.deepEqual(decodeChunks(chunks), frames);
    }),
    { seed: 42, numRuns: 300 },
  );
});

test('frame › decoder › garbage is rejected at the header checksum', (t) => {
  const decoder = new FrameDecoder();
  decodeChunks([Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n')], decoder);
  t.is(decoder.invalid, 'header-checksum');
  decoder.push(wire);
  t.is(decoder.next(), null, 'nothing after a rejection');
  t.is(decoder.pendingBytes, 0, 'buffers released');
});

test('frame › decoder › random garbage never yields a frame nor throws (property)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: frameHeaderBytes, maxLength: 200 }), (bytes) => {
      const decoder = new FrameDecoder();
      t.deepEqual(decodeChunks([Buffer.from(bytes)], decoder), []);
      t.not(decoder.invalid, null);
    }),
    { seed: 7, numRuns: 500 },
  );
});

test('frame › validateHeader › returns the reason', (t) => {
  t.is(validateHeader(header({ frameBytes: frameHeaderBytes })), null);
  t.is(validateHeader(header({ frameBytes: frameHeaderBytes, version: 2 })), 'version');
  t.is(validateHeader(header({ frameBytes: frameHeaderBytes, flags: 0 })), 'flags');
  t.is(validateHeader(header({ frameBytes: frameHeaderBytes, flags: FrameFlags.Request | FrameFlags.Reply })), 'flags');
  t.is(validateHeader(header({ frameBytes: frameHeaderBytes, reserved: 1 })), 'reserved');
  t.is(validateHeader(header({ frameBytes: frameHeaderBytes - 1 })), 'length-short');
  t.is(validateHeader(header({ frameBytes: frameBytesMax + 1 })), 'length-long');
  t.is(validateHeader(header({ frameBytes: 0xffff_ffff })), 'length-long');
  t.is(validateHeader(header({ frameBytes: handshakeFrameBytesMax + 1 }), handshakeFrameBytesMax), 'length-long');
  const flipped = header({ frameBytes: frameHeaderBytes });
  flipped[9]! ^= 1;
  t.is(validateHeader(flipped), 'header-checksum');
});

test('frame › decoder › oversize is rejected from the header alone', (t) => {
  const decoder = new FrameDecoder(handshakeFrameBytesMax);
  decoder.push(header({ frameBytes: handshakeFrameBytesMax + 1 }));
  t.is(decoder.next(), null);
  t.is(decoder.invalid, 'length-long');
});

test('frame › decoder › a corrupted body is rejected', (t) => {
  const frame = encodeFrame(5, FrameFlags.Request, 9, Buffer.from('payload'));
  frame[frame.length - 1]! ^= 0x80;
  const decoder = new FrameDecoder();
  t.deepEqual(decodeChunks([frame], decoder), []);
  t.is(decoder.invalid, 'body-checksum');
});

test('frame › decoder › frames before garbage are delivered, then the reason', (t) => {
  const decoder = new FrameDecoder();
  const out = decodeChunks([Buffer.concat([wire, Buffer.alloc(frameHeaderBytes, 0xab)])], decoder);
  t.deepEqual(out, specs);
  t.is(decoder.invalid, 'header-checksum');
});

class FakeSink implements FrameSink {
  writes: Buffer[] = [];
  writableLength = 0;
  write(data: Buffer): boolean {
    this.writes.push(data);
    return true;
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('frame › writer › frames of one turn go out in one write', async (t) => {
  const sink = new FakeSink();
  const writer = new FrameWriter(sink);
  for (const s of specs) writer.enqueue(s.type, s.flags, s.correlationId, s.payload);
  t.is(sink.writes.length, 0, 'nothing written synchronously');
  await nextTurn();
  t.is(sink.writes.length, 1);
  t.deepEqual(sink.writes[0], wire);
  writer.enqueue(1, FrameFlags.Request, 5, Buffer.from('x'));
  await nextTurn();
  t.is(sink.writes.length, 2, 'a later turn writes again');
});

test('frame › writer › a large payload is written as it is, between the coalesced frames around it, corked: the bytes are the same frames', async (t) => {
  const sink = new FakeSink() as FakeSink & { corks: number; uncorks: number; cork(): void; uncork(): void };
  sink.corks = 0;
  sink.uncorks = 0;
  sink.cork = () => sink.corks++;
  sink.uncork = () => sink.uncorks++;
  const writer = new FrameWriter(sink);
  const big = Buffer.alloc(payloadCopyBytesMax + 1, 0x5a);
  const frames = [
    { type: 1, flags: FrameFlags.Request, correlationId: 1, payload: Buffer.from('before') },
    { type: 2, flags: FrameFlags.Reply, correlationId: 2, payload: big },
    { type: 3, flags: FrameFlags.Request, correlationId: 3, payload: Buffer.from('after') },
    { type: 4, flags: FrameFlags.Reply, correlationId: 4, payload: big },
  ];
  for (const f of frames) writer.enqueue(f.type, f.flags, f.correlationId, f.payload);
  await nextTurn();
  t.is(sink.writes.length, 4, 'a run, the payload, a run, the payload: no run after the last');
  t.is(sink.writes[1], big, 'the large payload itself, not a copy');
  t.is(sink.writes[3], big);
  t.deepEqual([sink.corks, sink.uncorks], [1, 1]);
  t.deepEqual(decodeChunks([Buffer.concat(sink.writes)], new FrameDecoder()), frames);
  // Only small frames: one write, no cork.
  writer.enqueue(5, FrameFlags.Request, 5, Buffer.from('x'));
  await nextTurn();
  t.is(sink.writes.length, 5);
  t.is(sink.corks, 1);
});

test('frame › writer › held frames wait for release', async (t) => {
  const sink = new FakeSink();
  const writer = new FrameWriter(sink, 1 << 20, true);
  writer.enqueue(1, FrameFlags.Request, 1, Buffer.from('a'));
  await nextTurn();
  t.is(sink.writes.length, 0);
  writer.release();
  await nextTurn();
  t.is(sink.writes.length, 1);
});

test('frame › writer › bounded by queued plus socket bytes', (t) => {
  const sink = new FakeSink();
  const writer = new FrameWriter(sink, 100);
  t.true(writer.fits(100 - frameHeaderBytes));
  t.false(writer.fits(101 - frameHeaderBytes));
  writer.enqueue(1, FrameFlags.Request, 1, Buffer.alloc(30));
  t.is(writer.backlogBytes, 50);
  t.false(writer.fits(31));
  sink.writableLength = 40;
  t.true(writer.fits(10 - frameHeaderBytes));
  t.false(writer.fits(11 - frameHeaderBytes));
  writer.close();
});

test('frame › writer › close drops the queue and the scheduled flush', async (t) => {
  const sink = new FakeSink();
  const writer = new FrameWriter(sink);
  writer.enqueue(1, FrameFlags.Request, 1, Buffer.from('a'));
  writer.close();
  writer.enqueue(1, FrameFlags.Request, 2, Buffer.from('b'));
  await nextTurn();
  t.is(sink.writes.length, 0);
  t.is(writer.backlogBytes, 0);
});
