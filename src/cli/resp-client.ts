// The command line's own small RESP client on redis-parser: `ringkv status`
// and `ringkv repair` send a few commands to one node and read the replies,
// which keeps the CLI free of a client library.

import net from 'node:net';
import RedisParser from 'redis-parser';

export type Reply = string | number | null | Buffer | Reply[] | Error;

/**
 * Sends `commands` on one connection and resolves with one reply per
 * command (an error reply as an Error), or rejects when the node cannot be
 * reached or has not answered them all within `timeoutMs`.
 */
export function request(host: string, port: number, commands: string[][], timeoutMs: number): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const replies: Reply[] = [];
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const settle = (reply: Reply) => {
      replies.push(reply);
      if (replies.length < commands.length) return;
      clearTimeout(timer);
      socket.end();
      resolve(replies);
    };
    const parser = new RedisParser({ returnReply: settle, returnError: settle });
    socket.on('data', (chunk) => parser.execute(chunk));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      if (replies.length === commands.length) return;
      clearTimeout(timer);
      reject(new Error(`${host}:${port} closed the connection after ${replies.length} of ${commands.length} replies`));
    });
    socket.on('connect', () => {
      for (const command of commands) {
        socket.write(`*${command.length}\r\n${command.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
      }
    });
  });
}

/** A reply's field/value pairs (a RESP2 flat array, as RESP3 maps arrive to a RESP2 client). */
export function fieldsOf(entry: Reply): Map<string, string> {
  const fields = new Map<string, string>();
  if (!Array.isArray(entry)) return fields;
  for (let i = 0; i + 1 < entry.length; i += 2) fields.set(String(entry[i]), String(entry[i + 1]));
  return fields;
}
