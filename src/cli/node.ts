// One ringkv node: wires storage, the peer transport, gossip membership, the
// coordinator and the RESP front end together, and takes them down in the
// reverse order. Every node is the same; a node without seeds is a ring of one
// that others may join by naming it as their seed.

import type { Logger } from 'pino';
import { buildCommandTable } from '../commands/table.js';
import type { ClusterInfo, MemberInfo, ServerServices, ServerStats } from '../commands/types.js';
import type { ClusterView } from '../coordinator/cluster-view.js';
import { Coordinator } from '../coordinator/coordinator.js';
import { ReplicaService } from '../coordinator/replica-service.js';
import { FileActor } from '../storage/actor.js';
import { loadIdentity } from '../membership/identity.js';
import { Membership } from '../membership/membership.js';
import { MessageType } from '../peer/message-types.js';
import { TcpTransport } from '../peer/tcp-transport.js';
import type { PeerMessage } from '../peer/transport.js';
import { protocolLimits } from '../resp/limits.js';
import { RespServer } from '../resp/server.js';
import type { Ring } from '../ring/index.js';
import { LevelStorage } from '../storage/level-storage.js';
import type { NodeConfig } from './config.js';

/** Background read repairs per node; past it repairs are skipped (anti-entropy's job). */
const readRepairsInFlightMax = 1024;

export class RingkvNode {
  private constructor(
    readonly config: NodeConfig,
    readonly logger: Logger,
    readonly storage: LevelStorage,
    readonly transport: TcpTransport,
    readonly membership: Membership,
    readonly coordinator: Coordinator,
    readonly resp: RespServer,
  ) {}

  static async start(config: NodeConfig, logger: Logger): Promise<RingkvNode> {
    const identity = await loadIdentity({ dataDir: config.dataDir, nodeId: config.nodeId, vnodes: config.vnodes });
    const log = logger.child({ node: identity.nodeId });
    const storage = await LevelStorage.open(`${config.dataDir}/records`);
    const transport = new TcpTransport({
      nodeId: identity.nodeId,
      clusterName: config.clusterName,
      clusterSecret: config.clusterSecret,
      bindHost: config.bind,
      port: config.peerPort,
      logger: log.child({ component: 'peer' }),
      requestTimeoutMs: config.requestTimeoutMs,
    });
    try {
      await transport.listen();
    } catch (err) {
      await storage.close();
      throw err;
    }
    const peerPort = transport.address().port;
    const resp = new RespServer({
      host: config.bind,
      port: config.port,
      maxClients: config.maxClients,
      limits: protocolLimits({ bulkBytesMax: config.protoMaxBulkLen }),
      requiresAuth: config.requirepass !== undefined,
    });
    const membership = new Membership({
      self: { id: identity.nodeId, host: config.advertiseHost, respPort: config.port, peerPort, tokens: identity.tokens },
      generation: identity.generation,
      seeds: config.seeds,
      transport,
      n: config.n,
      logger: log.child({ component: 'gossip' }),
      gossipIntervalMs: config.gossipIntervalMs,
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
    });
    const replicas = new ReplicaService(coordinator);
    transport.setHandler((from: string, message: PeerMessage) => {
      if (message.type === MessageType.GossipSyn || message.type === MessageType.GossipAck) return membership.handleMessage(from, message);
      if (ReplicaService.handles(message.type)) return replicas.handle(from, message);
      throw new Error(`unexpected peer message type ${message.type}`);
    });
    const stats: ServerStats = { commandsProcessed: 0, protocolErrors: 0, errorReplies: 0, startedAtMs: Date.now() };
    const services: ServerServices = {
      coordinator,
      config,
      stats,
      clients: resp,
      cluster: clusterInfo(membership),
      logger: log.child({ component: 'resp' }),
      commands: buildCommandTable(),
    };
    membership.start();
    coordinator.collector.start();
    try {
      await resp.listen(services);
    } catch (err) {
      await coordinator.collector.stop();
      await membership.stop();
      await transport.close();
      await storage.close();
      throw err;
    }
    const node = new RingkvNode(config, log, storage, transport, membership, coordinator, resp);
    log.info({ port: resp.address().port, peerPort, dataDir: config.dataDir, n: config.n, r: config.r, w: config.w, seeds: config.seeds }, 'ringkv node ready');
    return node;
  }

  /** Stop accepting, finish in-flight commands, leave gossip, close peers, flush and close LevelDB. */
  async stop(): Promise<void> {
    this.logger.info('shutting down');
    await this.resp.close();
    await this.coordinator.collector.stop();
    await this.membership.stop();
    await this.transport.close();
    await this.storage.close();
    this.logger.info('shut down cleanly');
  }
}

function clusterView(membership: Membership): ClusterView {
  return {
    selfId: membership.self.id,
    preferenceList: (_key, token) => membership.ring().preferenceListForDigest(token),
    isUp: (id) => membership.isUp(id),
    peerAddress: (id) => membership.peerAddress(id),
    memberIds: () => membership.ring().members,
    joined: () => membership.joined(),
    replicationFactor: () => membership.ring().n,
  };
}

function clusterInfo(membership: Membership): ClusterInfo {
  let ownershipRing: Ring | undefined;
  let ownership = new Map<string, number>();
  const stateOf = (id: string): MemberInfo['state'] => {
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
        state: !m.up ? 'down' : m.status === 'normal' ? 'up' : m.status,
        vnodes: m.vnodes,
        ownership: ownership.get(m.id) ?? 0,
      }));
    },
    owners: (key) => membership.ring().preferenceList(key).map((id) => ({ id, state: stateOf(id) })),
  };
}
