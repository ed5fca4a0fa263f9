// One ringkv node: wires storage, the peer transport, gossip membership, the
// coordinator and the RESP front end together, and takes them down in the
// reverse order. Every node is the same; a node without seeds is a ring of one
// that others may join by naming it as their seed.

import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { decodeControl, encodeControl } from '../peer/codec.js';
import { AntiEntropy } from '../anti-entropy/anti-entropy.js';
import { ExchangeService } from '../anti-entropy/exchange-service.js';
import { localReplica } from '../anti-entropy/local-replica.js';
import { TreeKeeper } from '../anti-entropy/tree-keeper.js';
import { buildCommandTable } from '../commands/table.js';
import { latencyTrackingOf } from '../commands/command-stats.js';
import { serverStatsFresh, type ClusterInfo, type ReadThroughSource, type ServerServices } from '../commands/types.js';
import type { ClusterView } from '../coordinator/cluster-view.js';
import { Coordinator } from '../coordinator/coordinator.js';
import { ReplicaService } from '../coordinator/replica-service.js';
import { FileActor } from '../storage/actor.js';
import { LevelHintStore } from '../hints/level-hint-store.js';
import { handOverHints } from '../hints/hand-over.js';
import { HandoffSender } from '../hints/sender.js';
import { RangeService } from '../hints/range-service.js';
import { RingHandoff } from '../hints/ring-handoff.js';
import { HostProber, hostProbeTimeoutMs, type Pinger } from '../membership/host-probe.js';
import { openIcmpPinger } from '../membership/icmp-pinger.js';
import { identityExists, loadIdentity, saveStatus } from '../membership/identity.js';
import { Membership } from '../membership/membership.js';
import { MessageType } from '../peer/message-types.js';
import { TcpTransport } from '../peer/tcp-transport.js';
import type { PeerMessage } from '../peer/transport.js';
import { encodedSize } from '../clock/record-codec.js';
import type { Sibling } from '../clock/types.js';
import { protocolLimits } from '../resp/limits.js';
import { RespServer, shutdownGraceMs } from '../resp/server.js';
import { fallbacksForDigest, generateTokens, planChange, Ring } from '../ring/index.js';
import { LevelStorage } from '../storage/level-storage.js';
import { LoadMonitor } from '../hints/load-monitor.js';
import type { MetricsServer } from '../metrics/server.js';
import { ringkvVersion } from '../commands/server.js';
import { ConfigError, type NodeConfig } from './config.js';
import { PubSub } from '../pubsub/broker.js';
import { RuntimeConfig } from './runtime-config.js';
import { tlsSetup, type TlsSetup } from './tls.js';
import type { UpdateOptions } from '../storage/storage.js';

/** The --read-through source; its Redis client library is loaded only when one is configured. */
async function openReadThrough(config: NodeConfig, logger: Logger): Promise<ReadThroughSource | undefined> {
  if (config.readThrough === undefined) return undefined;
  const [{ RedisReadThrough }, { parseRedisUrl }] = await Promise.all([import('../migrate/read-through.js'), import('../migrate/endpoint.js')]);
  return new RedisReadThrough(parseRedisUrl(config.readThrough), config.readThrough, logger.child({ component: 'read-through' }));
}

/** Background read repairs per node; past it repairs are skipped (anti-entropy's job). */
const readRepairsInFlightMax = 1024;

const streamedWrite: UpdateOptions = Object.freeze({ bulk: true });

export class RingkvNode {
  private constructor(
    readonly config: NodeConfig,
    readonly logger: Logger,
    readonly storage: LevelStorage,
    readonly transport: TcpTransport,
    readonly membership: Membership,
    readonly coordinator: Coordinator,
    readonly resp: RespServer,
    readonly hints: LevelHintStore | undefined,
    readonly handoff: HandoffSender | undefined,
    readonly hostProber: HostProber,
    readonly trees: TreeKeeper | undefined,
    readonly antiEntropy: AntiEntropy | undefined,
    readonly ringHandoff: RingHandoff,
    readonly readThrough: ReadThroughSource | undefined,
    /** The Prometheus endpoint; undefined without --metrics-port. */
    readonly metrics: MetricsServer | undefined,
    readonly load: LoadMonitor,
  ) {}

  static async start(config: NodeConfig, logger: Logger): Promise<RingkvNode> {
    // Read and checked before anything opens: a bad certificate stops the start with one line.
    const tls = tlsSetup(config);
    // A new node given seeds joins an existing cluster: it streams its ranges before it owns them (hints/ring-handoff.ts).
    let replacing: { nodeId: string; tokens: readonly bigint[] } | undefined;
    if (config.replace !== undefined && !identityExists(config.dataDir)) {
      replacing = await replacedMemberTokens(config, config.replace, logger, tls);
    }
    const identity = await loadIdentity({
      dataDir: config.dataDir, nodeId: replacing?.nodeId ?? config.nodeId, vnodes: replacing?.tokens.length ?? config.vnodes,
      newStatus: config.seeds.length > 0 ? 'joining' : 'normal', ...(replacing === undefined ? {} : { newTokens: replacing.tokens }),
    });
    const log = logger.child({ node: identity.nodeId });
    const storage = await LevelStorage.open(`${config.dataDir}/records`);
    // Hints live in a LevelDB of their own: apart from records, never scanned as keys.
    const hints = config.hintWindowMs > 0 ? await LevelHintStore.open(`${config.dataDir}/hints`) : undefined;
    const transport = new TcpTransport({
      nodeId: identity.nodeId,
      clusterName: config.clusterName,
      clusterSecret: config.clusterSecret,
      bindHost: config.bind,
      port: config.peerPort,
      logger: log.child({ component: 'peer' }),
      requestTimeoutMs: config.requestTimeoutMs,
      ...(tls.peers === undefined ? {} : { tls: tls.peers }),
    });
    try {
      await transport.listen();
    } catch (err) {
      await storage.close();
      await hints?.close();
      throw err;
    }
    const peerPort = transport.address().port;
    const resp = new RespServer({
      host: config.bind,
      port: config.port,
      limits: protocolLimits({ bulkBytesMax: config.protoMaxBulkLen }),
      ...(tls.clients === undefined ? {} : { tls: { port: config.tlsPort!, options: tls.clients, refuseUnverifiedCertificates: config.tlsAuthClients === 'optional' } }),
    });
    const membership = new Membership({
      self: { id: identity.nodeId, host: config.advertiseHost, respPort: config.port, peerPort, tokens: identity.tokens },
      generation: identity.generation,
      status: identity.status,
      seeds: config.seeds,
      transport,
      n: config.n,
      logger: log.child({ component: 'gossip' }),
      gossipIntervalMs: config.gossipIntervalMs,
      phiConvictThreshold: config.phiConvictThreshold,
      phiAcceptablePauseMs: config.phiAcceptablePauseMs,
      downAfterMs: config.downAfterMs,
      requestTimeoutMs: Math.min(config.requestTimeoutMs, config.downAfterMs - 1),
    });
    // A member seen up again is dialled again at once, whatever backoff its failures had earned.
    membership.onChange(() => {
      for (const id of membership.upSet()) if (id !== identity.nodeId) transport.resetBackoff(membership.peerAddress(id));
    });
    const view = clusterView(membership);
    const coordinator = new Coordinator(storage, view, transport, {
      requestTimeoutMs: config.requestTimeoutMs,
      siblingsMax: config.siblingsMax,
      siblingsWarn: config.siblingsWarn,
      tombstoneGraceMs: config.tombstoneGraceMs,
      actor: FileActor.open(config.dataDir, identity.nodeId),
      readRepairsInFlightMax,
      logger: log.child({ component: 'coordinator' }),
      ...(hints === undefined ? {} : { hints }),
    });
    const handoff = hints === undefined ? undefined : new HandoffSender({
      store: hints,
      deliver: (target, key, siblings) => coordinator.deliverHint(target, key, siblings),
      // A target that left the ring never comes back: its hints go to the keys' replicas now (Coordinator.deliverHint).
      isUp: (id) => membership.isUp(id) || membership.stateOf(id)?.status === 'left',
      logger: log.child({ component: 'handoff' }),
      windowMs: config.hintWindowMs,
    });
    // A primary seen up again gets its hints at once, not at the next periodic pass.
    if (handoff !== undefined) {
      membership.onChange(() => {
        for (const id of membership.upSet()) if (id !== identity.nodeId && hints!.pending().has(id)) handoff.kick(id);
      });
    }
    const aae = config.antiEntropy === 'on' ? await startAntiEntropy(config, identity.nodeId, storage, membership, transport, coordinator, log) : undefined;
    const replicas = new ReplicaService(coordinator);
    // Ranges streamed in (a join) or handed over (a leave, a cleanup) pass through once: not kept in the record cache.
    const apply = (key: Buffer, siblings: readonly Sibling[]) => coordinator.applyLocal(key, undefined, siblings, streamedWrite);
    // Every node measures its loop delay from start to stop: streams through it pace by it (hints/load-monitor.ts).
    const load = new LoadMonitor();
    const ranges = new RangeService({ storage, apply, load });
    const ringHandoff = new RingHandoff({
      selfId: identity.nodeId,
      membership: {
        n: config.n,
        ring: () => membership.ring(),
        futureRing: () => membership.futureRing(),
        selfStatus: () => membership.selfStatus(),
        setStatus: (status) => membership.setStatus(status),
        heardCluster: () => membership.heardCluster(),
        joined: () => membership.joined(),
        isUp: (id) => membership.isUp(id),
        checkLeave: () => membership.checkLeave(),
        selfStateNotYetSeenBy: () => membership.selfStateNotYetSeenBy(),
        changing: () => membership.changing(),
        ownerGenerations: () => membership.ownerGenerations(),
        replacedMember: () => membership.replacedMember(),
        removeMember: (id) => membership.remove(id),
        onChange: (listener) => membership.onChange(listener),
      },
      storage,
      request: (id, message, timeoutMs) => transport.request(membership.peerAddress(id), message, timeoutMs, id),
      apply,
      persistStatus: (status) => saveStatus(config.dataDir, status),
      ...(hints === undefined ? {} : { handOverHints: () => handOverHints(hints, (key, siblings) => coordinator.handOverHint(key, siblings)) }),
      logger: log.child({ component: 'ring-handoff' }),
      gossipIntervalMs: config.gossipIntervalMs,
      selfGeneration: identity.generation,
      handOverWindowMs: config.tombstoneGraceMs / 2,
      foundingSeed: config.seeds.includes(`${config.advertiseHost}:${peerPort}`),
      load,
      streamDelayTargetMs: config.streamDelayTargetMs,
    });
    // Publishes go to every member that is up, with the node's request timeout as the wait for each count.
    const pubsub = new PubSub({
      upPeers: () => [...membership.upSet()].filter((id) => id !== identity.nodeId && membership.stateOf(id)?.status !== 'left'),
      request: (id, message, timeoutMs) => transport.request(membership.peerAddress(id), message, timeoutMs, id),
      timeoutMs: () => config.requestTimeoutMs,
    }, log.child({ component: 'pubsub' }));
    transport.setHandler((from: string, message: PeerMessage) => {
      if (message.type === MessageType.GossipSyn || message.type === MessageType.GossipAck || message.type === MessageType.MemberStateGet) {
        return membership.handleMessage(from, message);
      }
      if (ReplicaService.handles(message.type)) return replicas.handle(from, message);
      if (RangeService.handles(message.type)) return ranges.handle(from, message);
      if (aae !== undefined && ExchangeService.handles(message.type)) return aae.exchanges.handle(from, message);
      if (PubSub.handles(message.type)) return pubsub.handle(from, message);
      throw new Error(`unexpected peer message type ${message.type}`);
    });
    // Opened last before the try below, so no earlier failure leaves its raw socket open.
    const probeLog = log.child({ component: 'host-probe' });
    const hostProber = new HostProber({
      pinger: openPinger(config, probeLog),
      hosts: () => membership.members().map((m) => m.host),
      logger: probeLog,
    });
    // The slowlog reads its two options from the configuration itself, which CONFIG SET changes in place.
    const stats = serverStatsFresh(Date.now(), { logger: log.child({ component: 'resp' }), latency: latencyTrackingOf(config), slowlog: config });
    const readThrough = await openReadThrough(config, log);
    const services: ServerServices = {
      coordinator,
      config,
      stats,
      clients: resp,
      cluster: clusterInfo(membership, hostProber, ringHandoff, storage, config.vnodes),
      logger: log.child({ component: 'resp' }),
      commands: buildCommandTable(),
      pubsub,
      ...(aae === undefined ? {} : { repair: aae.antiEntropy }),
      ...(readThrough === undefined ? {} : { readThrough }),
      runtimeConfig: new RuntimeConfig({
        config,
        selfId: identity.nodeId,
        logger,
        retuneCoordinator: (changes) => coordinator.retune(changes),
        setLatencyTracking: (latency) => stats.commands.setLatencyTracking(latency),
        setBulkBytesMax: (bytes) => resp.setBulkBytesMax(bytes),
      }),
    };
    const metrics = config.metricsPort === undefined ? undefined : await startMetrics(config, identity.nodeId, services, storage, hints, aae, ringHandoff, log);
    membership.start();
    load.start();
    ringHandoff.start();
    coordinator.collector.start();
    handoff?.start();
    hostProber.start();
    aae?.antiEntropy.start();
    try {
      await metrics?.listen(config.bind, config.metricsPort!);
      await resp.listen(services);
    } catch (err) {
      await metrics?.close();
      await ringHandoff.stop();
      load.close();
      await aae?.antiEntropy.stop();
      await aae?.trees.stop();
      await hostProber.stop();
      await handoff?.stop();
      await coordinator.collector.stop();
      await membership.stop();
      await transport.close();
      await storage.close();
      await hints?.close();
      await readThrough?.close();
      throw err;
    }
    const node = new RingkvNode(config, log, storage, transport, membership, coordinator, resp, hints, handoff, hostProber, aae?.trees, aae?.antiEntropy, ringHandoff, readThrough, metrics, load);
    log.info({ port: resp.address().port, ...(tls.clients === undefined ? {} : { tlsPort: resp.tlsAddress()!.port }), peerTls: tls.peers !== undefined, peerPort, ...(metrics === undefined ? {} : { metricsPort: metrics.address().port }), dataDir: config.dataDir, n: config.n, r: config.r, w: config.w, seeds: config.seeds }, 'ringkv node ready');
    return node;
  }

  /**
   * Stop accepting, finish in-flight commands, leave gossip, close peers,
   * flush and close LevelDB — all within shutdownDeadlineMs. Rejects with a
   * ShutdownError when a step overran the deadline or a second SIGINT/SIGTERM
   * arrived meanwhile; the caller then exits non-zero.
   */
  async stop(): Promise<void> {
    this.logger.info('shutting down');
    const interrupt = onSecondSignal();
    try {
      await runShutdown(
        [
          { name: 'client connections', run: () => this.resp.close() },
          { name: 'read-through connection', run: async () => this.readThrough?.close() },
          { name: 'metrics endpoint', run: async () => this.metrics?.close() },
          { name: 'garbage collector', run: () => this.coordinator.collector.stop() },
          { name: 'hinted handoff', run: async () => this.handoff?.stop() },
          { name: 'ring handoff', run: () => this.ringHandoff.stop() },
          { name: 'load monitor', run: async () => this.load.close() },
          { name: 'anti-entropy', run: async () => {
            await this.antiEntropy?.stop();
            await this.trees?.stop();
          } },
          { name: 'host probe', run: () => this.hostProber.stop() },
          { name: 'gossip and peer connections', run: () => this.stopPeers() },
          { name: 'LevelDB flush and close', run: () => this.storage.close() },
          { name: 'hint store flush and close', run: async () => this.hints?.close() },
        ],
        { deadlineMs: shutdownDeadlineMs, interrupted: interrupt.signalled, logger: this.logger },
      );
    } finally {
      interrupt.dispose();
    }
    this.logger.info('shut down cleanly');
  }

  /**
   * Gossip exchanges in flight are failed by closing the transport rather
   * than waited for (a hung peer would hold each one for the request
   * timeout): at shutdown their answers are of no use.
   */
  private async stopPeers(): Promise<void> {
    const gossipStopped = this.membership.stop();
    await this.transport.close();
    await gossipStopped;
  }
}

/**
 * A shutdown gives up past this: the RESP grace (shutdownGraceMs, 5 s) and
 * client linger (< 1 s), a gossip exchange or peer request in flight (the
 * default request timeout, 1 s) and a LevelDB flush fit with room to spare.
 * By then the ports are closed and the node serves no one, so staying up
 * only hides the fault; exiting loses nothing acknowledged (an acknowledged
 * write is in LevelDB's log before its reply).
 */
export const shutdownDeadlineMs = shutdownGraceMs + 10_000;

export type ShutdownErrorCode =
  | 'SHUTDOWN_TIMEOUT'      // a step did not finish by the deadline
  | 'SHUTDOWN_FAILED'       // a step failed (the later ones still ran)
  | 'SHUTDOWN_INTERRUPTED'; // a second signal arrived

/** A shutdown that did not finish cleanly, with a stable code. */
export class ShutdownError extends Error {
  constructor(readonly code: ShutdownErrorCode, message: string) {
    super(message);
    this.name = 'ShutdownError';
  }
}

export interface ShutdownStep {
  readonly name: string;
  run(): Promise<void>;
}

export interface ShutdownOptions {
  readonly deadlineMs: number;
  /** Resolves when the operator asks again (a second signal): stop waiting at once. */
  readonly interrupted: Promise<void>;
  readonly logger: Logger;
}

/**
 * Runs the steps in order, each waited for no longer than what is left of
 * the deadline. A step that overruns is logged and left behind, and the
 * later steps are still started (closing the peers and LevelDB is worth a
 * try) but not waited for once the deadline has passed; then it rejects with
 * SHUTDOWN_TIMEOUT. A step that fails is logged and the others still run,
 * then it rejects with SHUTDOWN_FAILED. An interruption rejects at once with
 * SHUTDOWN_INTERRUPTED.
 */
export async function runShutdown(steps: readonly ShutdownStep[], options: ShutdownOptions): Promise<void> {
  const { deadlineMs, logger } = options;
  const deadline = Date.now() + deadlineMs;
  let interrupted = false;
  const interruption = options.interrupted.then(() => {
    interrupted = true;
  });
  const overran: string[] = [];
  const failed: string[] = [];
  for (const step of steps) {
    let outcome: 'done' | 'late';
    try {
      outcome = await within(step.run(), Math.max(0, deadline - Date.now()), interruption);
    } catch (err) {
      logger.error({ err, step: step.name }, 'shutdown step failed');
      failed.push(step.name);
      outcome = 'done';
    }
    if (interrupted) {
      logger.warn({ step: step.name }, 'second signal during shutdown: exiting without finishing it');
      throw new ShutdownError('SHUTDOWN_INTERRUPTED', `shutdown interrupted during ${step.name}`);
    }
    if (outcome === 'late') {
      overran.push(step.name);
      logger.error({ step: step.name, deadlineMs }, `shutdown step did not finish within the ${deadlineMs} ms shutdown deadline; exiting anyway`);
    }
  }
  if (overran.length > 0) throw new ShutdownError('SHUTDOWN_TIMEOUT', `shutdown deadline of ${deadlineMs} ms passed during ${overran.join(', ')}`);
  if (failed.length > 0) throw new ShutdownError('SHUTDOWN_FAILED', `shutdown steps failed: ${failed.join(', ')}`);
}

/** Waits for `work` at most `ms`, or until `interruption`; rejects when `work` does. */
async function within(work: Promise<void>, ms: number, interruption: Promise<void>): Promise<'done' | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, ms, 'late');
  });
  // A step left behind may still fail later: nobody waits for it, so it must not become an unhandled rejection.
  work.catch(() => undefined);
  try {
    return await Promise.race([work.then(() => 'done' as const), late, interruption.then(() => 'late' as const)]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise that resolves on the next SIGINT or SIGTERM (the first one started the shutdown). */
function onSecondSignal(): { signalled: Promise<void>; dispose: () => void } {
  let fire: () => void = () => undefined;
  const signalled = new Promise<void>((resolve) => {
    fire = resolve;
  });
  const listener = (): void => fire();
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return {
    signalled,
    dispose: () => {
      process.off('SIGINT', listener);
      process.off('SIGTERM', listener);
    },
  };
}

/**
 * Anti-entropy: the trees follow every record change from here on (before any write can
 * arrive) and the ring as gossip learns it; the exchange service answers peers; a member
 * seen up again has its ranges exchanged first.
 */
async function startAntiEntropy(
  config: NodeConfig, selfId: string, storage: LevelStorage, membership: Membership, transport: TcpTransport, coordinator: Coordinator, log: Logger,
): Promise<{ trees: TreeKeeper; antiEntropy: AntiEntropy; exchanges: ExchangeService }> {
  const aaeLog = log.child({ component: 'anti-entropy' });
  const trees = new TreeKeeper({ storage, selfId, logger: aaeLog });
  const followRing = () => {
    const ring = membership.ring();
    trees.setRing(ring, ring.n);
  };
  followRing();
  membership.onChange(followRing);
  await trees.start();
  const local = localReplica(trees, storage, (key, siblings) => coordinator.applyLocal(key, undefined, siblings));
  const antiEntropy = new AntiEntropy({
    selfId,
    trees: { treeIds: () => trees.treeIds(), members: (id) => trees.members(id), builtAtMs: (id) => trees.stats.builtAtMs[id] },
    local,
    peer: (id) => ({ request: (message, timeoutMs) => transport.request(membership.peerAddress(id), message, timeoutMs, id) }),
    isUp: (id) => membership.isUp(id),
    intervalMs: config.antiEntropyIntervalMs,
    logger: aaeLog,
  });
  let upBefore = new Set(membership.upSet());
  membership.onChange(() => {
    const up = new Set(membership.upSet());
    for (const id of up) if (!upBefore.has(id) && id !== selfId) antiEntropy.prioritize(id);
    upBefore = up;
  });
  return { trees, antiEntropy, exchanges: new ExchangeService(local) };
}

/**
 * `--replace ID` on a first start: asks the seeds, over the peer protocol
 * with a throwaway transport, for the dead member's tokens, so this node can
 * take them over (the others then see it as that member's replacement:
 * membership.ts latestPerTokens). Refused, as a configuration error, when no
 * seed knows the member or when it is up or already gone.
 */
async function replacedMemberTokens(config: NodeConfig, id: string, logger: Logger, tls: TlsSetup): Promise<{ nodeId: string; tokens: readonly bigint[] }> {
  const nodeId = config.nodeId ?? `node-${randomBytes(4).toString('hex')}`;
  const transport = new TcpTransport({
    nodeId, clusterName: config.clusterName, clusterSecret: config.clusterSecret, bindHost: config.bind, port: 0,
    logger: logger.child({ component: 'replace' }), requestTimeoutMs: config.requestTimeoutMs,
    ...(tls.peers === undefined ? {} : { tls: tls.peers }),
  });
  await transport.listen();
  let lastError = 'no seed answered';
  try {
    for (const seed of config.seeds) {
      let reply: PeerMessage;
      try {
        reply = await transport.request(seed, { type: MessageType.MemberStateGet, payload: encodeControl({ id, tokens: true }) }, config.requestTimeoutMs);
      } catch (err) {
        lastError = `${seed}: ${(err as Error).message}`;
        continue;
      }
      const state = decodeControl<{ status?: string; tokens?: string[]; up?: boolean } | null>(reply.payload);
      if (state === null) throw new ConfigError(`--replace ${id}: ${seed} knows no member ${id}`);
      if (state.status === 'left') throw new ConfigError(`--replace ${id}: ${id} has already left the ring`);
      if (state.up === true) throw new ConfigError(`--replace ${id}: ${id} is up; only a dead member is replaced (stop it first)`);
      if (!Array.isArray(state.tokens) || state.tokens.length === 0) throw new ConfigError(`--replace ${id}: ${seed} sent no tokens for it`);
      return { nodeId, tokens: state.tokens.map((t) => BigInt(t)) };
    }
  } finally {
    await transport.close();
  }
  throw new ConfigError(`--replace ${id}: cannot learn its tokens (${lastError})`);
}

/**
 * The Prometheus registry over the node's own counters (metrics/registry.ts),
 * its latency histogram fed by the command stats, and the endpoint serving
 * it (not yet listening).
 */
async function startMetrics(
  config: NodeConfig, nodeId: string, services: ServerServices, storage: LevelStorage, hints: LevelHintStore | undefined,
  aae: { trees: TreeKeeper; antiEntropy: AntiEntropy } | undefined, ringHandoff: RingHandoff, log: Logger,
): Promise<MetricsServer> {
  // Loaded only with --metrics-port: a node without the endpoint, and every other ringkv command, skips prom-client's modules.
  const [{ buildMetrics }, { MetricsServer }] = await Promise.all([import('../metrics/registry.js'), import('../metrics/server.js')]);
  const { registry, latency } = buildMetrics({
    nodeId,
    version: ringkvVersion,
    clusterName: config.clusterName,
    server: services.stats,
    clients: services.clients,
    coordinator: { stats: services.coordinator.stats, collected: () => services.coordinator.collector.stats.collected },
    ...(hints === undefined ? {} : { hints }),
    ...(aae === undefined ? {} : { antiEntropy: { stats: aae.antiEntropy.stats, trees: () => aae.trees.treeIds().length } }),
    ringTransfer: { stats: ringHandoff.stats, progress: () => ringHandoff.progress() },
    members: () => services.cluster.members(),
    storage,
    diskDirs: { records: `${config.dataDir}/records`, hints: `${config.dataDir}/hints` },
  });
  services.stats.commands.observeLatencies(latency);
  return new MetricsServer(registry, log.child({ component: 'metrics' }));
}

/** Records read to estimate the mean record size for RING PLAN's bytes estimate. */
const planSampleRecords = 256;

function clusterView(membership: Membership): ClusterView {
  return {
    selfId: membership.self.id,
    preferenceList: (_key, token) => membership.ring().preferenceListForDigest(token),
    isUp: (id) => membership.isUp(id),
    pendingReplicas: (token) => membership.pendingReplicas(token),
    fallbacks: (_key, token, max) => fallbacksForDigest(membership.ring(), token, (id) => membership.isUp(id), max),
    peerAddress: (id) => membership.peerAddress(id),
    memberIds: () => membership.ring().members,
    joined: () => membership.joined(),
    replicationFactor: () => membership.ring().n,
  };
}

/** The ICMP pinger, or undefined (one info line says why) when --host-probe is off or raw sockets are not allowed. */
function openPinger(config: NodeConfig, log: Logger): Pinger | undefined {
  if (config.hostProbe === 'off') return undefined;
  const opening = openIcmpPinger({ timeoutMs: hostProbeTimeoutMs, logger: log });
  if ('pinger' in opening) return opening.pinger;
  log.info(`host probe off: ${opening.off}`);
  return undefined;
}

function clusterInfo(membership: Membership, hostProber: HostProber, ringHandoff: RingHandoff, storage: LevelStorage, vnodes: number): ClusterInfo {
  let ownershipRing: Ring | undefined;
  let ownership = new Map<string, number>();
  const stateOf = (id: string): 'up' | 'down' | 'joining' | 'leaving' | 'left' => {
    const m = membership.members().find((x) => x.id === id);
    if (m === undefined || !m.up) return 'down';
    return m.status === 'normal' ? 'up' : m.status;
  };
  return {
    members: () => {
      const ring = membership.ring();
      if (ring !== ownershipRing) {
        ownershipRing = ring;
        ownership = ring.effectiveOwnership();
      }
      return membership.members().map((m) => ({
        id: m.id,
        host: m.host,
        respPort: m.respPort,
        peerPort: m.peerPort,
        state: m.status,
        liveness: m.liveness,
        phi: m.phi,
        vnodes: m.vnodes,
        ownership: ownership.get(m.id) ?? 0,
        hostReach: hostProber.reach(m.host),
        hostRttMs: hostProber.result(m.host)?.rttMs,
      }));
    },
    owners: (key) => membership.ring().preferenceList(key).map((id) => ({ id, state: stateOf(id) })),
    hostProbe: () => (hostProber.on ? 'on' : 'off'),
    remove: (id) => membership.remove(id),
    leave: () => ringHandoff.leave(),
    transfer: () => ringHandoff.progress(),
    plan: async (change) => {
      const before = membership.ring();
      // The ring once the changes under way complete, with this one applied.
      const owners = membership.futureRing().members.map((id) => ({ id, tokens: membership.stateOf(id)?.tokens ?? [] }));
      const after = Ring.build(change.kind === 'join'
        // A new node's tokens are drawn when it first starts: a draw now shows the typical plan.
        ? [...owners, { id: change.id, tokens: generateTokens(change.id, change.vnodes ?? vnodes) }]
        : owners.filter((m) => m.id !== change.id), before.n);
      // The mean record size from a sample at the start of the ring: enough for a bytes estimate, read in one page.
      const sample = await storage.scan(0n, planSampleRecords);
      const sampleBytes = sample.entries.reduce((sum, e) => sum + e.key.length + encodedSize(e.siblings), 0);
      const recordBytesMean = sample.entries.length === 0 ? 0 : sampleBytes / sample.entries.length;
      return { plan: planChange(before, after), localRecords: storage.recordCount(), members: before.members.length, recordBytesMean };
    },
  };
}
