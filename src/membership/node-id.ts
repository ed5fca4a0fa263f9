// What a node id may be: one rule, used by the command line, the identity
// file and gossip. Short (it rides in every gossip digest and, as part of
// its actor id, in every version's dot), plain ASCII so it prints anywhere,
// and without '#', which separates a node id from its storage epoch in actor
// ids (storage/actor.ts).

/** 64 bytes: a hostname label's length; node ids are names, not payloads. */
export const nodeIdBytesMax = 64;

const nodeIdPattern = /^[A-Za-z0-9._-]+$/;

export function isNodeId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= nodeIdBytesMax && nodeIdPattern.test(value);
}
