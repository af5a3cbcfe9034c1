/**
 * The counter responder, for tests and benchmarks: `N` streams `0\n` … `N-1\n`; `N M` paces the
 * chunks M milliseconds apart (fractional allowed) on a schedule kept against the start time, so
 * sub-millisecond pacing holds on average even though timers are coarser.
 */
import { pause, type Responder, ResponderError } from './responder.ts';

const MAX_CHUNKS = 10_000_000;

export function parseCounterRequest(text: string): { count: number; intervalMs: number } {
  const match = /^\s*(\d+)(?:\s+(\d+(?:\.\d+)?))?\s*$/.exec(text);
  const count = Number(match?.[1]);
  const intervalMs = Number(match?.[2] ?? 0);
  if (!match || count > MAX_CHUNKS || !Number.isFinite(intervalMs)) {
    throw new ResponderError(
      `counter expects "N" or "N M" (N ≤ ${MAX_CHUNKS}), got "${text.slice(0, 40)}"`,
      'internal',
      false,
    );
  }
  return { count, intervalMs };
}

export const counterResponder: Responder = async function* ({ text, signal }) {
  const { count, intervalMs } = parseCounterRequest(text);
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    if (intervalMs > 0) {
      const wait = start + i * intervalMs - performance.now();
      if (wait >= 1) await pause(wait, signal);
    }
    signal.throwIfAborted();
    yield `${i}\n`;
  }
};
