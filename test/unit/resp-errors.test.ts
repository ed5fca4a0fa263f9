// The RESP edge's one mapping from failures to replies must itself never
// throw: it runs in a command promise's rejection handler, where a throw is an
// unhandled rejection, and Node 20 ends the process on one. Whatever a handler
// rejects with (a string, null, undefined) becomes a generic error reply.

import test from 'ava';
import { pino } from 'pino';
import { errorReplyFor } from '../../src/resp/errors.js';
import { ErrorReply } from '../../src/resp/reply.js';

const silent = pino({ level: 'silent' });

test('resp errors › anything thrown becomes an error reply, never a second throw', (t) => {
  for (const thrown of [null, undefined, 'a string', 42, { code: 'STORAGE_IO', message: 'disk gone' }, new Error('bug')]) {
    let reply: ErrorReply | undefined;
    t.notThrows(() => {
      reply = errorReplyFor(thrown, silent);
    }, String(thrown));
    t.true(reply instanceof ErrorReply, String(thrown));
  }
});
