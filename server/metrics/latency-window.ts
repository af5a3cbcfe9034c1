/**
 * A latency series for the health page: totals since start, plus the most recent samples in a
 * fixed ring, from which percentiles are computed when someone asks (never on record).
 */
export interface LatencySummary {
  /** Samples since start. */
  count: number;
  /** Mean since start, in ms (null before the first sample). */
  avg_ms: number | null;
  /** Percentiles over the most recent samples (up to the window size), in ms. */
  p50_ms: number | null;
  p90_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
}

export class LatencyWindow {
  private readonly samples: Float64Array;
  private next = 0;
  private count = 0;
  private sum = 0;
  private max = 0;

  constructor(readonly size = 1024) {
    this.samples = new Float64Array(size);
  }

  record(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.size;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  summary(): LatencySummary {
    const held = Math.min(this.count, this.size);
    if (held === 0) {
      return { count: 0, avg_ms: null, p50_ms: null, p90_ms: null, p99_ms: null, max_ms: null };
    }
    const sorted = this.samples.slice(0, held).sort();
    const at = (q: number) => round(sorted[Math.min(held - 1, Math.ceil(q * held) - 1)] ?? 0);
    return {
      count: this.count,
      avg_ms: round(this.sum / this.count),
      p50_ms: at(0.5),
      p90_ms: at(0.9),
      p99_ms: at(0.99),
      max_ms: round(this.max),
    };
  }
}

/** Three decimals: microseconds are the finest that means anything here. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
