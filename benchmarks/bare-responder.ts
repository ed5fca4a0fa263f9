// A benchmark target, not product code: the ceiling of Node.js on this
// machine for what redis-benchmark sends. A TCP server that parses requests
// with ringkv's own RESP parser, keeps values in a Map and encodes replies
// with ringkv's encoder, one write per socket read: no storage, no versions,
// no cluster, no command table. `npm run bench` reports every target's
// requests/s against it beside redis-server's (issue 14 item 4), so a table
// says how much of the distance to Redis is Node's and how much ringkv's.
//
//   node dist/benchmarks/bare-responder.js PORT

import net from 'node:net';
import { ReplyBuffer } from '../src/resp/encoder.js';
import { protocolLimitsDefault } from '../src/resp/limits.js';
import { RequestParser } from '../src/resp/parser.js';
import { ErrorReply, OK, SimpleReply, type Reply } from '../src/resp/reply.js';

const values = new Map<string, Buffer>();
const pong = new SimpleReply('PONG');

function reply(args: Buffer[]): Reply {
  const name = args[0]!.toString('latin1').toUpperCase();
  switch (name) {
    case 'SET':
      values.set(args[1]!.toString('latin1'), Buffer.from(args[2]!));
      return OK;
    case 'GET':
      return values.get(args[1]!.toString('latin1')) ?? null;
    case 'INCR': {
      const key = args[1]!.toString('latin1');
      const next = Number(values.get(key)?.toString('latin1') ?? '0') + 1;
      values.set(key, Buffer.from(String(next)));
      return next;
    }
    case 'PING':
      return args.length > 1 ? args[1]! : pong;
    // redis-benchmark asks for "save" and "appendonly" before it starts.
    case 'CONFIG':
      return [];
    // The harness's readiness check (test/helpers/cluster.ts waitForPing) asks whose port this is: without
    // an answer the target never counted as started, and every run since that check came lacked its column.
    case 'INFO':
      return Buffer.from(`# Server\r\nprocess_id:${process.pid}\r\n`, 'latin1');
    default:
      return new ErrorReply(`ERR unknown command '${name}'`);
  }
}

function serve(socket: net.Socket): void {
  const parser = new RequestParser(protocolLimitsDefault);
  const out = new ReplyBuffer();
  socket.setNoDelay(true);
  socket.on('data', (chunk: Buffer) => {
    parser.append(chunk);
    for (let args = parser.next(true); args !== null; args = parser.next(true)) out.write(reply(args), 2);
    if (out.length > 0) socket.write(out.take());
  });
  socket.on('error', () => socket.destroy());
}

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: bare-responder.js PORT\n');
  process.exit(2);
}
net.createServer(serve).listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
