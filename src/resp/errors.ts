// The one place where failures become client-visible replies. Handlers throw
// CommandError with Redis's exact text; operating failures from below
// (quorum, siblings cap, a bad causal context, storage) carry a stable code
// and get their uppercase prefix here. Anything else is a bug: logged, and
// the client sees a generic error rather than a crash.

import type { Logger } from 'pino';
import { ContextError } from '../clock/context.js';
import { CommandError } from '../commands/types.js';
import {
  ClusterUnavailableError, NotJoinedError, QuorumError, RecordTooLargeError, SiblingLimitError, ValueTooLargeError,
} from '../coordinator/errors.js';
import { PubSubError } from '../pubsub/broker.js';
import { ErrorReply } from './reply.js';
import { TypeOperationError, type TypeOperationErrorCode } from '../crdt/operation.js';

/** Redis's words for a type's refusals (t_string.c, server.c shared.wrongtypeerr). */
const typeOperationReplies: Readonly<Record<TypeOperationErrorCode, string>> = {
  WRONGTYPE: 'WRONGTYPE Operation against a key holding the wrong kind of value',
  NOT_INTEGER: 'ERR value is not an integer or out of range',
  OVERFLOW: 'ERR increment or decrement would overflow',
  NOT_FLOAT: 'ERR value is not a valid float',
  NAN_OR_INFINITY: 'ERR increment would produce NaN or Infinity',
  DECREMENT_OVERFLOW: 'ERR decrement would overflow',
  BAD_OPERATION: 'ERR malformed operation from a peer; see the node log',
  SCORE_NAN: 'ERR resulting score is not a number (NaN)',
  NO_SUCH_KEY: 'ERR no such key',
  INDEX_OUT_OF_RANGE: 'ERR index out of range',
  HASH_NOT_INTEGER: 'ERR hash value is not an integer',
  HASH_NOT_FLOAT: 'ERR hash value is not a float',
  // IMPORT answers 0 for it (commands/import.ts); this reply only shows a bug.
  IMPORT_CHANGED: 'ERR the key was written since the previous IMPORT page',
};

export function errorReplyFor(err: unknown, logger: Logger): ErrorReply {
  if (err instanceof CommandError) return new ErrorReply(err.message);
  if (err instanceof TypeOperationError) {
    if (err.code === 'BAD_OPERATION') logger.error({ err }, 'malformed type operation');
    return new ErrorReply(typeOperationReplies[err.code]);
  }
  if (err instanceof QuorumError) return new ErrorReply(`NOQUORUM ${err.message}`);
  if (err instanceof SiblingLimitError) return new ErrorReply(`SIBLINGS ${err.message}; resolve them with SIBLINGS key WITHVCLOCK and SET … VCLOCK`);
  if (err instanceof ContextError) return new ErrorReply(`ERR invalid VCLOCK context: ${err.message}`);
  if (err instanceof ClusterUnavailableError) return new ErrorReply(`CLUSTERDOWN ${err.message}`);
  if (err instanceof ValueTooLargeError || err instanceof RecordTooLargeError || err instanceof PubSubError) return new ErrorReply(`ERR ${err.message}`);
  // Redis's prefix for "not ready to serve data yet"; clients' ready checks wait on INFO loading:1.
  if (err instanceof NotJoinedError) return new ErrorReply(`LOADING ${err.message}`);
  // Anything may arrive here (a handler can reject with null); this runs in a
  // rejection handler, where a throw would be an unhandled rejection and end the process.
  const code = (err as { code?: unknown } | null | undefined)?.code;
  if (code === 'STORAGE_IO' || code === 'STORAGE_CLOSED') {
    logger.error({ err }, 'storage failure');
    return new ErrorReply(`ERR storage failure: ${(err as Error).message}`);
  }
  logger.error({ err }, 'unexpected error in command');
  return new ErrorReply('ERR internal error; see the node log');
}
