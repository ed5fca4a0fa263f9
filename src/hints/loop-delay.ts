// This node's event-loop delay, the signal streams pace themselves by
// (stream-pacer.ts): Node's own sampler (perf_hooks monitorEventLoopDelay, a
// libuv timer every loopDelayResolutionMs whose lateness goes into a
// histogram). A request arriving at the node waits about this long before it
// runs: behind a slice of a streamed page, a batch encode, or the CPU the
// process could not get.

import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** The sampler's interval: 100 samples in a 500 ms pacing window, for ~0.01% of a core. */
export const loopDelayResolutionMs = 5;

export class LoopDelayProbe {
  private histogram: IntervalHistogram | undefined;

  /**
   * The p99 delay (ms) since the last call, beyond the sampling interval.
   * The first call (and the first after close) starts the sampler and
   * answers 0: it runs only while a stream does.
   */
  sampleMs(): number {
    const h = this.histogram;
    if (h === undefined) {
      this.histogram = monitorEventLoopDelay({ resolution: loopDelayResolutionMs });
      this.histogram.enable();
      return 0;
    }
    const delayMs = h.count === 0 ? 0 : Math.max(0, h.percentile(99) / 1e6 - loopDelayResolutionMs);
    h.reset();
    return delayMs;
  }

  /** Stops the sampler until the next sampleMs. */
  close(): void {
    this.histogram?.disable();
    this.histogram = undefined;
  }
}
