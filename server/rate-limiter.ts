/**
 * A token bucket: `burst` frames at once, refilled at `perSecond`. It reads real time, not the
 * actor system's clock, because it guards the data path and must not stall under a test clock.
 */
export function createRateLimiter(
  perSecond: number,
  burst: number,
  now: () => number = performance.now.bind(performance),
) {
  let tokens = burst;
  let last = now();
  return {
    /** Takes `cost` tokens; false when the sender is over its rate. */
    take(cost = 1): boolean {
      const current = now();
      tokens = Math.min(burst, tokens + ((current - last) / 1000) * perSecond);
      last = current;
      if (tokens < cost) return false;
      tokens -= cost;
      return true;
    },
  };
}
