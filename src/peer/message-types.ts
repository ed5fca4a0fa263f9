// Peer message types. WARNING: ONLY APPEND TO THIS LIST. The numbers are part
// of the wire protocol: nodes of different versions must agree on them.
// A reply travels with the request's correlation id; its type names the reply.

export const MessageType = {
  Error: 0,              // reply: a UTF-8 {code, message} (msgpack) from a failed handler
  Ping: 1,
  Pong: 2,
  GossipSyn: 3,          // digests of what the sender knows
  GossipAck: 4,          // states the receiver has newer + digests it wants
  ReplicaPut: 5,         // key + siblings: merge into the local record
  ReplicaPutAck: 6,
  ReplicaGet: 7,         // key: the local record
  ReplicaGetReply: 8,
  CoordinatePut: 9,      // a client write forwarded to a node of the key's preference list
  CoordinatePutReply: 10,
  KeysScan: 11,          // a page of this node's keys (cluster-wide KEYS/SCAN/DBSIZE)
  KeysScanReply: 12,
  Flush: 13,             // FLUSHALL on this node
  FlushAck: 14,
  HandshakeChallenge: 15, // acceptor → dialer: a nonce (peer/handshake.ts)
  HandshakeHello: 16,     // dialer → acceptor: cluster, node id, version, nonce, proof
  HandshakeWelcome: 17,   // acceptor → dialer: node id, proof
  HandshakeRefused: 18,   // acceptor → dialer: why, then the connection closes
  TreeLevel: 19,          // anti-entropy: hashes of some nodes of one level of a Merkle tree
  TreeLevelReply: 20,
  LeafEntries: 21,        // anti-entropy: (key, record hash) of every key in some leaves
  LeafEntriesReply: 22,
  RecordsGet: 23,         // anti-entropy: whole records of some keys, from storage
  RecordsGetReply: 24,
  RecordsPut: 25,         // anti-entropy: whole records to fold into the local ones
  RecordsPutAck: 26,
  MemberStateGet: 27,     // membership: what the receiver holds for one member (has my change reached you?)
  MemberStateReply: 28,
  RangeRecords: 29,       // ring change: a page of the records of some token spans, from storage
  RangeRecordsReply: 30,
  RangePut: 31,           // ring change: records handed over, to fold into the local ones
  RangePutAck: 32,
  Publish: 33,            // pub/sub: a message published on the sender, for the receiver's subscribers
  PublishReply: 34,       // how many of the receiver's subscribers got it
  PubsubQuery: 35,        // pub/sub: the receiver's channels, channel counts or patterns (PUBSUB across the cluster)
  PubsubQueryReply: 36,
  ReplicaDeltaPut: 37,      // key + a new version's metadata, its base dots and a delta: rebuild and fold (coordinator/delta.ts)
  ReplicaDeltaPutReply: 38, // u8 verdict: applied, held, or the whole record is needed
} as const;

export type MessageTypeName = keyof typeof MessageType;
export type MessageTypeNumber = (typeof MessageType)[MessageTypeName];
