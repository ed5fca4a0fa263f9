// Limits of the coordinator's data-safety rules that the configuration must
// respect, kept below cli/ so the coordinator and the config both import them.

/**
 * The shortest tombstone grace a node accepts, ms. The reaping rule (a
 * tombstone goes only once every replica of the key is known to hold it),
 * not the grace, keeps deletes dead; the grace only absorbs messages still
 * in flight when that is decided (a replica write, a read repair, a hint).
 * With 0 a delete was reaped before it reached the other replicas, so DEL
 * replicated nothing. 1 s outlasts a replica request at the default
 * request timeout; Riak's delete_mode waits 3 s for the same reason.
 */
export const tombstoneGraceMsMin = 1_000;
