// Virtual time for the cluster simulation: one @sinonjs/fake-timers clock,
// made with createClock() (standalone: nothing global is replaced, so ava and
// the rest of the process keep real time), behind the TimerSource that the
// memory network, memory storage and coordinators take.
//
// A run is a pure function of its seed because nothing in it waits on real
// time: every timer fires in (virtual time, creation order), and after each
// one the promise callbacks it set off all run before the next timer (one
// real setImmediate turn drains the microtask queue), as on Node's event
// loop. Minutes of virtual time with no timer due cost nothing: the clock
// jumps to the next timer.
//
// Why fake-timers' synchronous `next()` with our own drain, and not its
// `tickAsync`/`nextAsync`: tickAsync(ms) runs on to the end of the span even
// when the run is already over, and nextAsync spends two real turns per timer
// where one suffices; both use the same timer heap and order we use here.

import { createClock } from '@sinonjs/fake-timers';
import { setImmediate as realTurn } from 'node:timers/promises';
import type { TimerSource } from '../../src/peer/memory-transport.js';

/** Virtual time starts here (2030-01-01): far from 0, so an absolute expiry in the past (PXAT 1) is plainly so. */
export const simEpochMs = Date.UTC(2030, 0, 1);
/** Timers fired in one `runUntil` before it concludes that the run cannot end (a livelock in the code under test). */
const timersPerRunMax = 5_000_000;

type Clock = ReturnType<typeof createClock>;

export class VirtualTime implements TimerSource {
  private readonly clock: Clock;
  /** Timers fired so far: a measure of a run's work. */
  fired = 0;

  constructor(startMs = simEpochMs) {
    this.clock = createClock(startMs, timersPerRunMax);
  }

  now(): number {
    return this.clock.now;
  }

  setTimeout<A extends unknown[]>(callback: (...args: A) => void, ms: number, ...args: A): unknown {
    return this.clock.setTimeout(callback as (...args: unknown[]) => void, ms, ...args);
  }

  clearTimeout(handle: unknown): void {
    this.clock.clearTimeout(handle as ReturnType<Clock['setTimeout']>);
  }

  setImmediate<A extends unknown[]>(callback: (...args: A) => void, ...args: A): unknown {
    return this.clock.setImmediate(callback as (...args: unknown[]) => void, ...args);
  }

  /** Resolves after `ms` of virtual time. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(() => resolve(), ms));
  }

  /**
   * Fires timers in order, letting each one's promise callbacks run before the
   * next, until `done()` holds. Throws if no timer is left, or `budgetMs` of
   * virtual time passes, while `done()` is still false: the run has hung.
   */
  async runUntil(done: () => boolean, budgetMs: number): Promise<void> {
    const deadline = this.clock.now + budgetMs;
    await realTurn();
    for (let fired = 0; !done(); fired++) {
      if (this.clock.countTimers() === 0) throw new Error('virtual time: nothing scheduled, yet the run is not over');
      if (fired >= timersPerRunMax || this.clock.now > deadline) {
        throw new Error(`virtual time: the run is not over after ${fired} timers and ${this.clock.now - deadline + budgetMs} ms`);
      }
      this.clock.next();
      this.fired++;
      await realTurn();
    }
  }
}
