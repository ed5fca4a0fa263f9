// What the coordinator needs to know of the cluster: the key's preference
// list and who is reachable. Membership (gossip) provides it in a cluster;
// a node without seeds is a ring of one.

export interface ClusterView {
  readonly selfId: string;
  /** The key's N replicas, in ring order; `token` is the key's digest (storage/keys.ts tokenOf), hashed once per request. */
  preferenceList(key: Buffer, token: Buffer): readonly string[];
  /**
   * Up nodes outside the key's preference list, in ring order, at most
   * `max`: the fallbacks a sloppy quorum sends hinted writes to.
   */
  fallbacks(key: Buffer, token: Buffer, max: number): readonly string[];
  /**
   * Nodes beyond the preference list that a write of the key must also reach
   * while the ring changes (membership.ts pendingReplicas): the coordinator
   * waits for one more ack per pending node. Absent in a view whose ring
   * never changes.
   */
  pendingReplicas?(token: Buffer): readonly string[];
  isUp(nodeId: string): boolean;
  /** "host:port" of the node's peer listener. */
  peerAddress(nodeId: string): string;
  /** Every member's id, up or down. */
  memberIds(): readonly string[];
  /** N: how many replicas each key has (fewer while the ring is smaller). */
  replicationFactor(): number;
  /**
   * True once this node has heard its cluster (a seed answered, or none is
   * configured): before that its ring may hold only itself, and a quorum
   * counted on it would be a lie.
   */
  joined(): boolean;
}
