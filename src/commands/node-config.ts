// A node's configuration as the layers below the command line see it. The
// type lives here, below its users (commands read it, cli/config.ts parses
// it), so nothing imports cli/.

export interface NodeConfig {
  nodeId: string | undefined;
  /** On first start, take over this dead member's tokens and stream its ranges (`--replace`). */
  replace: string | undefined;
  bind: string;
  /** The host other nodes and clients reach this node at (default: bind; a wildcard bind such as 0.0.0.0 must name it, cli/config.ts). */
  advertiseHost: string;
  port: number;
  peerPort: number;
  dataDir: string;
  seeds: string[];
  n: number;
  r: number;
  w: number;
  vnodes: number;
  requirepass: string | undefined;
  clusterSecret: string;
  clusterName: string;
  requestTimeoutMs: number;
  tombstoneGraceMs: number;
  /** How long hints are kept for a down replica; 0 turns hinted handoff off. */
  hintWindowMs: number;
  /** Streams (join, leave, cleanup) back off while the event loop's delay is above this (hints/stream-pacer.ts); 0: a fixed rate. */
  streamDelayTargetMs: number;
  siblingsMax: number;
  siblingsWarn: number;
  protoMaxBulkLen: number;
  maxClients: number;
  gossipIntervalMs: number;
  /** The failure detector's phi at which a member is down (membership/phi.ts). */
  phiConvictThreshold: number;
  /** Silence tolerated on top of a member's measured heartbeat rhythm. */
  phiAcceptablePauseMs: number;
  /** A member silent this long is down whatever its phi. */
  downAfterMs: number;
  /** Merkle trees and exchanges (anti-entropy/); off: none, and RING REPAIR refuses. */
  antiEntropy: 'on' | 'off';
  /** Background anti-entropy: one range exchanged with one replica this often; 0 = only on RING REPAIR. */
  antiEntropyIntervalMs: number;
  /** Ping each member's host for `ringkv status` and INFO (membership/host-probe.ts); on needs raw sockets, and is off without them. */
  hostProbe: 'on' | 'off';
  logLevel: string;
  /** json: a JSON object a line (pino's own); pretty: pino-pretty's lines for a terminal. */
  logFormat: 'json' | 'pretty';
  /** The port of the Prometheus endpoint (metrics/), on --bind; undefined: no endpoint. */
  metricsPort: number | undefined;
  /** Redis's slowlog-log-slower-than, µs: SLOWLOG keeps commands at least this slow; 0 every one, -1 none. */
  slowlogLogSlowerThan: number;
  /** Redis's slowlog-max-len: SLOWLOG's entries at most. */
  slowlogMaxLen: number;
  /** Redis's latency-tracking: a latency histogram per command for INFO latencystats. */
  latencyTracking: 'yes' | 'no';
  /** Redis's latency-tracking-info-percentiles, normalized ("50 99 99.9"). */
  latencyTrackingInfoPercentiles: string;
  /** The Redis being migrated from (--read-through), as given; undefined: none. */
  readThrough: string | undefined;
  /** A second RESP listener speaking TLS (cli/tls.ts); undefined: none. */
  tlsPort: number | undefined;
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  tlsCaCertFile: string | undefined;
  /** Redis's tls-auth-clients: whether a TLS client must show a CA-signed certificate. */
  tlsAuthClients: 'yes' | 'no' | 'optional';
  /** The peer port speaks only TLS, with a CA-signed certificate required on both sides. */
  tlsCluster: 'yes' | 'no';
  /** Redis's client-output-buffer-limit, normalized as CONFIG GET shows it; the pubsub class is enforced (pubsub/output-limit.ts). */
  clientOutputBufferLimit: string;
  /** The --config file the node started with (absolute), which CONFIG REWRITE rewrites; undefined without one. */
  configFile: string | undefined;
}
