// The simulation's oracle: a pure function from a history (history.ts) to
// the violations it shows. It knows nothing of clocks or replicas' state; it
// judges only what clients saw, the way Jepsen's checkers do, so it stays
// right whatever the coordinator does inside.
//
// What it assumes, and why each assumption is safe:
// - Values are unique per write (register: one value per SET; set: one new
//   element per add), so a value seen identifies the write that made it.
// - Every version a write mints is minted between its invocation and its
//   completion plus the longest delivery delay (`maxDelayMs`): a forwarded
//   write is coordinated when its request arrives, and a duplicated request
//   arrives within one delay of the original. That instant (the write's
//   horizon) is what decides whether one write can have superseded another.
//   A failed write (NOQUORUM, node crashed under it) is indeterminate: it may
//   or may not exist, and counts only as something that might have happened.
// - Quorums are strict in half the seeds: R and W count the key's own
//   replicas, so a read at R and an acknowledged write at W with R + W > N
//   meet at some replica. In the other half (hinted handoff on) a fallback's
//   ack counts toward W, which promises nothing until everything healed:
//   there only the final reads must meet every acknowledged write. A disk-less restart (a wipe) can remove
//   the write from one of those replicas, so each wipe overlapping the span
//   from the write's invocation to the read's completion takes one off:
//   the pair must meet when R + W - wipes > N. Crashes with the disk lose
//   nothing acknowledged (an acknowledgement means the copy was durable).
// - Expiry is absolute: a version whose expiresAt is at or before a read's
//   time is not live there, and never will be again.
//
// What it checks (register workload):
// - lost-write: in the final reads at R=N after everything healed, each
//   acknowledged SET's value is live, unless it expired, or a possible
//   successor exists that accounts for its absence: a write on the key not
//   completed before it was invoked that is a DEL, or is live in that read,
//   or expired. (A successor can supersede the value only if it was minted
//   after it, hence the horizon rule; the last of any chain of successors is
//   itself such a write, so no closure is needed.)
// - stale-read: the same rule for every read at R that started after an
//   acknowledged SET at W with R + W > N (read-your-quorum).
// - resurrected: an acknowledged DEL or context SET supersedes every value
//   its read returned and every value acknowledged at W before it began with
//   R + W > N (made wholly before it began). No read that starts after it
//   completed and meets it (R + its W > N) may return one of those live.
//   This is where deletes brought back after the tombstones' grace period,
//   and SETs with a past expiry that leave the old value, show.
// Set workload: every acknowledged element is in every later read that meets
// it (stale-read) and in every final read (lost-write): every write carries
// the union of what it read, and there are no deletes or expiries.
// Counter workload (INCRBY of positive amounts, applied at the coordinator):
// every read that meets an acknowledged increment (R + W > N, or a final
// read) shows a value at least the sum of the increments it meets
// (stale-read; lost-write in the last final round), and no read shows more
// than the sum of every increment begun before it ended, acknowledged or
// indeterminate (counter-out-of-bounds: an increment counted twice, or a
// value from nowhere). With the last round's agreement (diverged) that is:
// after healing every replica shows the same V, and
// sum(acknowledged) ≤ V ≤ sum(acknowledged + indeterminate).
// Register and set: no read returns a value nobody wrote (unknown-value); the last round
// of final reads agrees through every node (diverged), and succeeds
// (final-read-failed: everything is healed and up).
// With anti-entropy on, one look inside the replicas: after healing and a
// quiet period, and before any final read could repair them, every replica
// of a key holds the same live versions (replicas-diverged). Dead versions
// are left out: one replica may have reaped a tombstone another still holds.

import {
  additionKinds,
  elementsOf,
  isLive,
  liveValues,
  removalKinds,
  type History,
  type Op,
  type ReadResult,
  type Violation,
  type ViolationKind,
} from './history.js';

export function check(history: History): Violation[] {
  const violations: Violation[] = [];
  const byKey = new Map<string, Op[]>();
  for (const op of history.ops) {
    let ops = byKey.get(op.key);
    if (ops === undefined) byKey.set(op.key, (ops = []));
    ops.push(op);
  }
  for (const states of history.replicaStates ?? []) {
    const [first, ...rest] = states.replicas;
    const differing = rest.filter((r) => r.live.join() !== first!.live.join());
    if (first === undefined || differing.length === 0) continue;
    const shown = states.replicas.map((r) => `${r.node}:[${r.live.join(',')}]`).join(' ');
    violations.push({ kind: 'replicas-diverged', key: states.key, message: `after healing and a quiet period of anti-entropy, the replicas of ${states.key} hold different live versions: ${shown}`, ops: [] });
  }
  for (const [key, ops] of [...byKey].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const keyCheck = new KeyCheck(history, key, ops, violations);
    if (history.workload === 'counter') {
      keyCheck.counterReads();
    } else if (isCollection(history.workload)) {
      keyCheck.collectionReads();
      keyCheck.removals();
      if (history.workload === 'hash' || history.workload === 'zset') keyCheck.counterReads();
      if (history.workload === 'list') keyCheck.duplicates();
    } else {
      keyCheck.unknownValues();
      if (history.workload === 'register') {
        keyCheck.registerReads();
        keyCheck.resurrections();
      } else {
        keyCheck.setReads();
      }
    }
    keyCheck.finalReads();
  }
  return violations;
}

const writeKinds = new Set(['set', 'set-ctx', 'del', 'add', 'incr', 'sadd', 'srem', 'hset', 'hincr', 'zadd', 'zrem', 'zincr', 'lpush', 'rpush', 'lpop', 'rpop', 'lrem']);

function isCollection(workload: History['workload']): boolean {
  return workload === 'orset' || workload === 'hash' || workload === 'zset' || workload === 'list';
}

/** The checks of one key's operations. */
class KeyCheck {
  private readonly reads: Op[];
  /** Writes that may have happened (acknowledged or indeterminate). */
  private readonly writes: Op[];
  private readonly byValue = new Map<string, Op>();
  private readonly reported = new Set<string>();

  constructor(
    private readonly history: History,
    private readonly key: string,
    private readonly ops: readonly Op[],
    private readonly out: Violation[],
  ) {
    // A read-then-write's read counts whatever became of its write.
    this.reads = ops.filter((op) => op.read !== undefined);
    // A hinted-only write whose hints may have expired is indeterminate: it may or may not have survived.
    const mayHaveExpired = this.history.hintsExpiredKeys?.includes(key) === true;
    this.writes = ops
      .filter((op) => writeKinds.has(op.kind) && op.outcome !== 'fail')
      .map((op) => (mayHaveExpired && op.hintedOnly === true && op.outcome === 'ok' ? { ...op, outcome: 'info' as const } : op));
    // A removal names the element it removes: the element's maker is its add.
    for (const op of this.writes) if (op.value !== undefined && !removalKinds.has(op.kind)) this.byValue.set(op.value, op);
  }

  unknownValues(): void {
    for (const r of this.reads) {
      for (const v of r.read!.versions) {
        if (v.deleted === true) continue;
        const values = this.history.workload === 'set' ? elementsOf(v.value) : [v.value];
        for (const value of values) {
          if (this.byValue.has(value)) continue;
          this.report('unknown-value', `unknown:${value}`, `${readName(r)} returned ${value}, which no operation on ${this.key} may have written`, [r.index]);
        }
      }
    }
  }

  /** Read-your-quorum, and the end state, for registers. */
  registerReads(): void {
    for (const w of this.writes) {
      if ((w.kind !== 'set' && w.kind !== 'set-ctx') || w.outcome !== 'ok') continue;
      for (const r of this.reads) {
        if (!(w.completeMs < r.invokeMs) || !this.meets(r.r!, w.w!, w.invokeMs, readEnd(r), r)) continue;
        const read = r.read!;
        if (this.accountsFor(w, read) || this.successorAccountsFor(w, r)) continue;
        const last = this.isLastFinal(r);
        this.report(
          last ? 'lost-write' : 'stale-read',
          `${last ? 'lost' : 'stale'}:${w.index}`,
          `${w.value} was acknowledged by #${w.index} (W=${w.w}) before ${readName(r)} (R=${r.r}) began, ` +
            `yet that read shows [${liveValues(read).join(', ')}] live and no write that could have superseded ${w.value}`,
          [w.index, r.index],
        );
      }
    }
  }

  /** Acknowledged DELs and context SETs stay in force: what they superseded never returns. */
  resurrections(): void {
    for (const d of this.writes) {
      if ((d.kind !== 'del' && d.kind !== 'set-ctx') || d.outcome !== 'ok') continue;
      const covered = this.supersededBy(d);
      if (covered.size === 0) continue;
      for (const r of this.reads) {
        if (!(d.completeMs < r.invokeMs) || !this.meets(r.r!, d.w!, d.invokeMs, readEnd(r), r)) continue;
        for (const value of liveValues(r.read!)) {
          if (!covered.has(value)) continue;
          const what = d.kind === 'del' ? 'DEL' : `SET ${d.value}${d.expiresAt === undefined ? '' : ` (expiresAt ${d.expiresAt})`} with its read's context`;
          this.report(
            'resurrected',
            `resurrected:${d.index}:${value}`,
            `${value} (#${this.byValue.get(value)!.index}) was superseded by the acknowledged ${what} #${d.index} (W=${d.w}), ` +
              `yet ${readName(r)} (R=${r.r}), begun after it, returns it live`,
            [this.byValue.get(value)!.index, d.index, r.index],
          );
        }
      }
    }
  }

  /** Set workload: acknowledged elements are in every read that meets them. */
  setReads(): void {
    for (const a of this.writes) {
      if (a.kind !== 'add' || a.outcome !== 'ok') continue;
      for (const r of this.reads) {
        if (!(a.completeMs < r.invokeMs) || !this.meets(r.r!, a.w!, a.invokeMs, readEnd(r), r)) continue;
        const elements = new Set(liveValues(r.read!).flatMap(elementsOf));
        if (elements.has(a.value!)) continue;
        const last = this.isLastFinal(r);
        this.report(
          last ? 'lost-write' : 'stale-read',
          `${last ? 'lost' : 'stale'}:${a.index}`,
          `element ${a.value} was acknowledged by #${a.index} (W=${a.w}) before ${readName(r)} (R=${r.r}) began, ` +
            `yet that read's live siblings hold [${[...elements].sort().join(',')}]`,
          [a.index, r.index],
        );
      }
    }
  }

  /**
   * Collection workloads: every element a read shows was added by some
   * operation (unknown-value), and every acknowledged add is in every read
   * that meets it (stale-read; lost-write in the last final round) unless a
   * removal may have taken it: an acknowledged one that says it did (its
   * count, or the elements a pop returned), or an indeterminate one that did
   * not end before the add began (a forwarded removal may be applied late,
   * so one begun earlier may still have seen it).
   */
  collectionReads(): void {
    for (const r of this.reads) {
      const elements = new Set(elementsOf(r.read!.elements ?? ''));
      for (const e of elements) {
        if (this.byValue.has(e)) continue;
        this.report('unknown-value', `unknown:${e}`, `${readName(r)} shows ${e}, which no operation on ${this.key} may have added`, [r.index]);
      }
      for (const a of this.writes) {
        if (!additionKinds.has(a.kind) || a.outcome !== 'ok') continue;
        if (!(a.completeMs < r.invokeMs) || !this.meets(r.r!, a.w!, a.invokeMs, readEnd(r), r) || elements.has(a.value!)) continue;
        if (this.mayHaveRemoved(a)) continue;
        const last = this.isLastFinal(r);
        this.report(
          last ? 'lost-write' : 'stale-read',
          `${last ? 'lost' : 'stale'}:${a.index}`,
          `${a.value} was acknowledged by #${a.index} (W=${a.w}) before ${readName(r)} (R=${r.r}) began, and no removal may have taken it, yet that read shows [${[...elements].join(',')}]`,
          [a.index, r.index],
        );
      }
    }
  }

  private mayHaveRemoved(a: Op): boolean {
    return this.writes.some((d) => {
      if (!removalKinds.has(d.kind)) return false;
      if (d.outcome === 'ok' && d.removed !== undefined) return d.removed.includes(a.value!);
      // An indeterminate pop may have taken any element; an indeterminate SREM, ZREM or LREM only its own.
      return (d.value === a.value || d.kind === 'lpop' || d.kind === 'rpop') && !(d.completeMs < a.invokeMs);
    });
  }

  /**
   * An element an acknowledged removal took away (it saw the element's one
   * add) is in no read that meets the removal: nothing brings it back, not a
   * replica that missed the removal, not an emptied collection's reaping.
   */
  removals(): void {
    for (const d of this.writes) {
      if (!removalKinds.has(d.kind) || d.outcome !== 'ok' || d.removed === undefined || d.removed.length === 0) continue;
      for (const r of this.reads) {
        if (!(d.completeMs < r.invokeMs) || !this.meets(r.r!, d.w!, d.invokeMs, readEnd(r), r)) continue;
        const elements = new Set(elementsOf(r.read!.elements ?? ''));
        for (const e of d.removed) {
          if (!elements.has(e)) continue;
          this.report(
            'resurrected',
            `resurrected:${d.index}:${e}`,
            `${e} was taken away by the acknowledged ${d.kind.toUpperCase()} #${d.index} (W=${d.w}), yet ${readName(r)} (R=${r.r}), begun after it, shows it`,
            [d.index, r.index],
          );
        }
      }
    }
  }

  /** List workload: every element is pushed once, so a read shows it at most once. */
  duplicates(): void {
    for (const r of this.reads) {
      const seen = new Set<string>();
      for (const e of elementsOf(r.read!.elements ?? '')) {
        if (seen.has(e)) this.report('duplicated', `duplicated:${r.index}:${e}`, `${readName(r)} shows ${e} more than once: [${r.read!.elements}]`, [r.index]);
        seen.add(e);
      }
    }
  }

  /** Counter workload: each read's value lies between the increments it must show and every increment that may have happened. */
  counterReads(): void {
    for (const r of this.reads) {
      const value = Number(r.read!.counter === '' ? 0 : r.read!.counter);
      let must = 0;
      const met: number[] = [];
      let may = 0;
      for (const w of this.writes) {
        if (w.kind !== 'incr' && w.kind !== 'hincr' && w.kind !== 'zincr') continue;
        if (w.invokeMs <= readEnd(r)) may += w.amount!;
        if (w.outcome !== 'ok' || !(w.completeMs < r.invokeMs) || !this.meets(r.r!, w.w!, w.invokeMs, readEnd(r), r)) continue;
        must += w.amount!;
        met.push(w.index);
      }
      if (value < must) {
        const last = this.isLastFinal(r);
        this.report(
          last ? 'lost-write' : 'stale-read',
          `${last ? 'lost' : 'stale'}:counter:${r.index}`,
          `${readName(r)} (R=${r.r}) shows ${value}, below the ${must} that the ${met.length} acknowledged increments it meets add up to`,
          [...met, r.index],
        );
      }
      if (value > may) {
        this.report('counter-out-of-bounds', `over:${r.index}`, `${readName(r)} shows ${value}, above the ${may} that every increment begun before it could add up to`, [r.index]);
      }
    }
  }

  /** The last round of final reads succeeds through every node and agrees. */
  finalReads(): void {
    const rounds = this.history.finalRounds;
    if (rounds === 0) return;
    const last = this.ops.filter((op) => op.finalRound === rounds);
    const nodes = [...new Set(last.map((op) => op.node))].sort();
    const answered = last.filter((op) => op.outcome === 'ok');
    for (const node of nodes) {
      if (answered.some((op) => op.node === node)) continue;
      const attempts = last.filter((op) => op.node === node);
      this.report('final-read-failed', `final:${node}`, `every final read of ${this.key} at R=${attempts[0]!.r} through ${node} failed, with all nodes up and healed: ${attempts[0]!.error ?? ''}`, attempts.map((op) => op.index));
    }
    if (answered.length < 2) return;
    const atMs = Math.max(...answered.map((op) => op.read!.atMs));
    const views = answered.map((op) => this.endView(op.read!, atMs));
    const differing = answered.filter((_, i) => views[i] !== views[0]);
    if (differing.length === 0) return;
    const shown = answered.map((op, i) => `${op.node}: [${views[i]}]`).join('; ');
    this.report('diverged', 'diverged', `after repair, the final reads of ${this.key} disagree: ${shown}`, answered.map((op) => op.index));
  }

  /** The read's live content at `atMs`, as one comparable string. */
  private endView(read: ReadResult, atMs: number): string {
    if (this.history.workload === 'counter') return read.counter ?? '';
    if (isCollection(this.history.workload)) return `${read.counter ?? ''}|${read.elements ?? ''}`;
    const live = read.versions.filter((v) => isLive(v, atMs)).map((v) => v.value);
    if (this.history.workload === 'set') return [...new Set(live.flatMap(elementsOf))].sort().join(',');
    return live.sort().join(',');
  }

  /**
   * What an acknowledged DEL or context SET supersedes: the values its read
   * returned, and those acknowledged before it began whose quorum its read
   * met, in both cases only values whose every version was minted before it
   * began (a version minted later may be concurrent with it).
   */
  private supersededBy(d: Op): Set<string> {
    const covered = new Set<string>();
    for (const v of d.read?.versions ?? []) {
      if (v.deleted === true) continue;
      const maker = this.byValue.get(v.value);
      if (maker !== undefined && maker !== d && this.horizon(maker) < d.invokeMs) covered.add(v.value);
    }
    for (const w of this.writes) {
      if ((w.kind !== 'set' && w.kind !== 'set-ctx') || w.outcome !== 'ok' || w === d) continue;
      if (this.horizon(w) < d.invokeMs && this.meets(d.r!, w.w!, w.invokeMs, readEnd(d), d)) covered.add(w.value!);
    }
    return covered;
  }

  /** The write's own value is live in the read, or has expired by then. */
  private accountsFor(w: Op, read: ReadResult): boolean {
    if (w.kind === 'del') return true;
    if (w.expiresAt !== undefined && w.expiresAt <= read.atMs) return true;
    return liveValues(read).includes(w.value!);
  }

  /**
   * Some write that may have come after `w`, and may have begun writing
   * before `r`'s read ended (in the same ms counts: times do not order events
   * within one ms), accounts for `w`'s absence from that read. A
   * read-then-write's own write comes after its read, so it never does.
   */
  private successorAccountsFor(w: Op, r: Op): boolean {
    for (const s of this.writes) {
      if (s === w || s === r || !(this.horizon(s) > w.invokeMs) || writeStart(s) > readEnd(r)) continue;
      if (this.accountsFor(s, r.read!)) return true;
    }
    return false;
  }

  /** The last instant at which `op` can have minted a version. */
  private horizon(op: Op): number {
    return op.completeMs + this.history.maxDelayMs;
  }

  /**
   * A read at `r` and a write acknowledged at `w` must meet, wipes in
   * [fromMs, toMs] aside. With sloppy quorums only a final read (everything
   * healed, hints delivered) is sure to meet — and one of the W copies may
   * have been a hint: on a key whose hints expired undelivered, that copy
   * counts as lost, like a wiped disk (a hint past its window is dropped by
   * design and left to anti-entropy, which only replicas take part in).
   */
  private meets(r: number, w: number, fromMs: number, toMs: number, read: Op): boolean {
    if (this.history.sloppy === true && read.finalRound === undefined) return false;
    let lost = this.history.hintsExpiredKeys?.includes(this.key) === true ? 1 : 0;
    for (const wipe of this.history.wipes) if (wipe.fromMs <= toMs && wipe.toMs >= fromMs) lost++;
    return r + w - lost > this.history.n;
  }

  private isLastFinal(r: Op): boolean {
    return r.finalRound !== undefined && r.finalRound === this.history.finalRounds;
  }

  private report(kind: ViolationKind, id: string, message: string, ops: number[]): void {
    if (this.reported.has(id)) return;
    this.reported.add(id);
    this.out.push({ kind, key: this.key, message, ops });
  }
}

/** When a write can have begun minting: after its read, for a read-then-write. */
function writeStart(op: Op): number {
  return op.readCompleteMs ?? op.invokeMs;
}

/** When the read (or a read-then-write's read part) answered. */
function readEnd(op: Op): number {
  return op.readCompleteMs ?? op.completeMs;
}

function readName(op: Op): string {
  if (op.finalRound !== undefined) return `the final read #${op.index} via ${op.node}`;
  return op.kind === 'read' ? `read #${op.index}` : `the read of ${op.kind} #${op.index}`;
}
