// The raw bytes a RESP3 connection receives, for tests that check the wire
// shape ioredis hides (maps, sets, doubles): HELLO 3, the commands, and what
// arrived within a short wait.
import net from 'node:net';

/** How long to collect replies after the commands are sent: they are all small and local. */
const collectMs = 300;

/** The raw bytes a RESP3 connection gets for `commands` after HELLO 3. */
export function rawResp3(port: number, commands: string[][]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('connect', () => {
      for (const c of [['HELLO', '3'], ...commands]) socket.write(`*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
      setTimeout(() => {
        socket.end();
        resolve(out);
      }, collectMs);
    });
  });
}
