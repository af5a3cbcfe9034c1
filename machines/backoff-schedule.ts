/**
 * The reconnection delay schedule, as a pure function so the backoff chart, the docs and the
 * unit tests agree on one definition.
 */
export interface BackoffPolicy {
  /** Attempts per outage before giving up ("failed" with a manual retry). */
  maxAttempts: number;
  /** The first attempt waits a uniformly random 0..firstDelayMaxMs: a blip heals in a blink. */
  firstDelayMaxMs: number;
  /** The second attempt's nominal delay; each later attempt doubles it… */
  baseDelayMs: number;
  /** …up to this cap. */
  maxDelayMs: number;
  /** Relative jitter applied to every delay after the first: 0.25 means ±25 %. */
  jitter: number;
}

export const defaultBackoffPolicy: BackoffPolicy = {
  maxAttempts: 10,
  firstDelayMaxMs: 300,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  jitter: 0.25,
};

/**
 * Delay before reconnection attempt `attempt` (1-based), given `random` in [0, 1).
 * 1 → random × firstDelayMaxMs; n ≥ 2 → min(base × 2^(n−2), cap) × (1 ± jitter).
 */
export function retryDelayMs(attempt: number, policy: BackoffPolicy, random: number): number {
  if (attempt <= 1) return Math.round(random * policy.firstDelayMaxMs);
  const nominal = Math.min(policy.baseDelayMs * 2 ** (attempt - 2), policy.maxDelayMs);
  return Math.round(nominal * (1 + policy.jitter * (2 * random - 1)));
}
