// A client workload with its own history checker, for tests that change the
// cluster under load: registers written with increasing sequence numbers at
// the cluster's W and read back at its R through random nodes. The checker
// judges every read against the history, not against a hand-written value: a
// read must return a sequence number at least as new as the last write to
// that key acknowledged before the read started (R + W > N), and at the end
// every key must hold its last acknowledged write. A write that failed may or
// may not have landed, so it only raises what a later read may return.

import type { Redis } from 'ioredis';

export interface WorkloadOptions {
  readonly keys: number;
  readonly workers: number;
  readonly prefix: string;
  /** The clients to use now; called per operation, so nodes may come and go. */
  readonly clients: () => readonly Redis[];
}

export class RegisterWorkload {
  readonly violations: string[] = [];
  writesAcked = 0;
  writesFailed = 0;
  reads = 0;
  readsFailed = 0;
  /** The last acknowledged sequence number of each key. */
  private readonly acked = new Map<string, number>();
  private readonly next = new Map<string, number>();
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly errors = new Map<string, number>();

  constructor(private readonly options: WorkloadOptions) {}

  keyNames(): string[] {
    return Array.from({ length: this.options.keys }, (_, i) => `${this.options.prefix}${i}`);
  }

  start(): void {
    this.running = true;
    const keys = this.keyNames();
    for (let w = 0; w < this.options.workers; w++) {
      const mine = keys.filter((_, i) => i % this.options.workers === w);
      this.loops.push(this.loop(mine));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Error messages seen, with counts (a test logs them). */
  errorSummary(): string {
    return [...this.errors].map(([m, c]) => `${c}× ${m}`).join('; ');
  }

  /** Reads every key through `client` and checks it holds its last acknowledged write. */
  async checkFinal(client: Redis): Promise<void> {
    const keys = this.keyNames();
    const p = client.pipeline();
    for (const key of keys) p.get(key);
    const replies = (await p.exec())!;
    keys.forEach((key, i) => {
      const [err, value] = replies[i]!;
      const want = this.acked.get(key);
      if (err !== null) this.violations.push(`final read of ${key} failed: ${err.message}`);
      else if (want !== undefined && (value === null || Number(value) < want)) this.violations.push(`final read of ${key}: ${String(value)}, acknowledged ${want}`);
    });
  }

  private pick(): Redis | undefined {
    const clients = this.options.clients();
    return clients.length === 0 ? undefined : clients[Math.floor(Math.random() * clients.length)];
  }

  private note(err: unknown): void {
    const message = ((err as Error).message ?? String(err)).slice(0, 60);
    this.errors.set(message, (this.errors.get(message) ?? 0) + 1);
  }

  private async loop(keys: readonly string[]): Promise<void> {
    let at = 0;
    while (this.running) {
      const key = keys[at++ % keys.length]!;
      const seq = (this.next.get(key) ?? 0) + 1;
      this.next.set(key, seq);
      const writer = this.pick();
      if (writer === undefined) return;
      try {
        await writer.set(key, String(seq));
        this.writesAcked++;
        this.acked.set(key, seq);
      } catch (err) {
        this.writesFailed++;
        this.note(err);
        await failureBackoff();
      }
      const floor = this.acked.get(key);
      const reader = this.pick();
      if (reader === undefined) return;
      try {
        const value = await reader.get(key);
        this.reads++;
        if (floor !== undefined && (value === null || Number(value) < floor)) {
          this.violations.push(`read of ${key} returned ${String(value)} after ${floor} was acknowledged`);
        }
      } catch (err) {
        this.readsFailed++;
        this.note(err);
        await failureBackoff();
      }
    }
  }
}

/** How long a worker waits after a failed request. */
const failureBackoffMs = 10;

/**
 * A client whose node is gone can fail every request at once, as a
 * microtask; a loop awaiting only those would never let a timer run (so
 * stop() and the test's own deadlines never came), and spin a core. A failure
 * waits a moment on a timer instead.
 */
function failureBackoff(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, failureBackoffMs));
}
