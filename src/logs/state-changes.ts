// Log once per change of state, not once per event. A condition an operator
// must hear about (a peer refusing our handshake, quorums failing, a key
// piling up siblings) usually arrives as a stream of identical events — one
// per retry or per request — and a log line per event buries everything else
// (a wrong cluster secret used to log twice a second on both sides, forever).
// Here each site reports the state it sees under a key naming what changed
// (a peer address, an operation, a key); the report says whether that is a
// change worth a line, and how many reports the previous state had, so the
// line that ends a condition can say how long and how often it lasted.
//
// Pure: time comes in as `nowMs`. Bounded: at most `keysMax` keys are
// remembered, the least recently reported forgotten first; a forgotten key's
// next report counts as a change (one line too many at worst, never memory
// without bound). With `repeatAfterMs`, a state that persists is reported
// again once that long has passed since its last line (the siblings warning:
// once per key per period).

import assert from 'node:assert/strict';

export interface StateChangesOptions {
  /** Keys remembered; past it the least recently reported is forgotten. */
  readonly keysMax: number;
  /** A state unchanged this long since its last line is due a line again; absent: never. */
  readonly repeatAfterMs?: number;
}

/** What a report that deserves a line tells the line. */
export interface StateChange<S> {
  /** The state before, undefined for a key not known (never seen, or forgotten). */
  readonly previous: S | undefined;
  /** How many reports the previous state had (the one that started it included); 0 when there was none. */
  readonly previousReports: number;
  /** When the previous state started, ms. */
  readonly previousSinceMs: number | undefined;
  /** Reports of the current state left unlogged since its last line (for a repeat line; 0 on a change). */
  readonly unlogged: number;
}

interface Entry<S> {
  state: S;
  sinceMs: number;
  lastLoggedMs: number;
  lastReportMs: number;
  reports: number;
  unlogged: number;
}

export class StateChanges<S> {
  private readonly entries = new Map<string, Entry<S>>();

  constructor(private readonly options: StateChangesOptions) {
    assert(Number.isInteger(options.keysMax) && options.keysMax > 0, 'keysMax is a positive integer');
    assert(options.repeatAfterMs === undefined || options.repeatAfterMs > 0, 'repeatAfterMs is positive');
  }

  /**
   * `key` is in `state` now. Returns what to log when this is a change (or a
   * state due its repeat line), undefined when the line was already written.
   */
  report(key: string, state: S, nowMs: number): StateChange<S> | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.state === state) {
      entry.reports++;
      entry.lastReportMs = nowMs;
      this.touch(key, entry);
      const repeat = this.options.repeatAfterMs;
      if (repeat === undefined || nowMs - entry.lastLoggedMs < repeat) {
        entry.unlogged++;
        return undefined;
      }
      const change = { previous: state, previousReports: entry.reports - 1, previousSinceMs: entry.sinceMs, unlogged: entry.unlogged };
      entry.lastLoggedMs = nowMs;
      entry.unlogged = 0;
      return change;
    }
    const change: StateChange<S> = entry === undefined
      ? { previous: undefined, previousReports: 0, previousSinceMs: undefined, unlogged: 0 }
      : { previous: entry.state, previousReports: entry.reports, previousSinceMs: entry.sinceMs, unlogged: 0 };
    this.touch(key, { state, sinceMs: nowMs, lastLoggedMs: nowMs, lastReportMs: nowMs, reports: 1, unlogged: 0 });
    return change;
  }

  /** The state last reported for `key`, with when it was last reported; undefined when unknown. */
  stateOf(key: string): { readonly state: S; readonly lastReportMs: number; readonly reports: number } | undefined {
    return this.entries.get(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Moves `key` to the most recent end, and forgets the oldest past keysMax. */
  private touch(key: string, entry: Entry<S>): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.options.keysMax) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}
