// The ring's public face: token hashing and generation, the Ring itself, and
// the annotated preference list used by the sloppy quorum.

export {
  compareBigint,
  generateTokens,
  keyToken,
  randomToken,
  splitmix64,
  tokenOf,
  tokenSpace,
  vnodesDefault,
  vnodesMax,
} from './tokens.js';
export { Ring, type RingMember } from './ring.js';
export { annotatedPreferenceList, annotatedPreferenceListForToken, fallbacksForDigest, type AnnotatedNode } from './apl.js';
export { gainedSpans, lostSpans, pendingReplicasFor, planChange, spanChanges, type ChangePlan, type GainedSpan, type PlanFlow, type SpanChange } from './changes.js';
