// The processes most integration files start once for the whole file: one
// node beside a 3-node cluster (N=3 R=2 W=2) whose gossip detects a dead or
// paused node within a couple of seconds, so a test that hangs one does not
// wait the production defaults out.

import type test from 'ava';
import { startCluster, startNode, type Cluster, type RingkvNode } from './cluster.js';

/** Gossip every 200 ms, down after 1.5 s of silence, peer requests time out after 1 s. */
export const fastGossip: readonly string[] = ['--gossip-interval-ms', '200', '--down-after-ms', '1500', '--request-timeout-ms', '1000'];

export interface NodeAndCluster {
  /** The single node (a ring of one). */
  readonly node: RingkvNode;
  /** The 3-node cluster, N=3 R=2 W=2, with fastGossip. */
  readonly cluster: Cluster;
}

/**
 * Registers the file's hooks: both started before the tests, in parallel,
 * and cleaned up after them. Read the returned object's fields inside a test.
 */
export function nodeAndCluster(t: typeof test): NodeAndCluster {
  let node: RingkvNode | undefined;
  let cluster: Cluster | undefined;
  t.before(async () => {
    [node, cluster] = await Promise.all([startNode(), startCluster({ nodes: 3, n: 3, r: 2, w: 2, extraArgs: [...fastGossip] })]);
  });
  t.after.always(async () => {
    await Promise.all([node?.cleanup(), cluster?.cleanup()]);
  });
  return {
    get node(): RingkvNode {
      if (node === undefined) throw new Error('the node is not started: read it inside a test');
      return node;
    },
    get cluster(): Cluster {
      if (cluster === undefined) throw new Error('the cluster is not started: read it inside a test');
      return cluster;
    },
  };
}
