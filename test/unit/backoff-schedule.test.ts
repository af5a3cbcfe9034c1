import { describe, expect, it } from 'vitest';
import {
  type BackoffPolicy,
  defaultBackoffPolicy,
  retryDelayMs,
} from '../../machines/backoff-schedule.ts';

/** The largest double below 1: the top edge of Math.random(). */
const JUST_BELOW_ONE = 1 - Number.EPSILON;

/** A seeded PRNG (mulberry32), so "many random draws" are the same draws on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const policy = defaultBackoffPolicy;

describe('the reconnection delay schedule', () => {
  it('has the documented defaults: 10 attempts, 0–300 ms first, 1 s doubling to 30 s, ±25 %', () => {
    expect(policy).toEqual({
      maxAttempts: 10,
      firstDelayMaxMs: 300,
      baseDelayMs: 1000,
      maxDelayMs: 30_000,
      jitter: 0.25,
    });
  });

  it('waits a uniformly random 0–300 ms before the first attempt', () => {
    expect(retryDelayMs(1, policy, 0)).toBe(0);
    expect(retryDelayMs(1, policy, JUST_BELOW_ONE)).toBe(300);
    expect(retryDelayMs(1, policy, 0.5)).toBe(150);
    const random = seededRandom(1);
    const draws = Array.from({ length: 10_000 }, () => retryDelayMs(1, policy, random()));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThanOrEqual(300);
    // Spread over the whole window, not bunched at one end.
    expect(draws.filter((delay) => delay < 30).length).toBeGreaterThan(500);
    expect(draws.filter((delay) => delay > 270).length).toBeGreaterThan(500);
  });

  it('doubles from 1 s to the 30 s cap at the nominal point (random 0.5)', () => {
    const nominal = [2, 3, 4, 5, 6, 7, 8, 9, 10].map((attempt) =>
      retryDelayMs(attempt, policy, 0.5),
    );
    expect(nominal).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000]);
  });

  it('puts random 0 at −25 % and random just below 1 at +25 %', () => {
    expect(retryDelayMs(2, policy, 0)).toBe(750);
    expect(retryDelayMs(2, policy, JUST_BELOW_ONE)).toBe(1250);
    expect(retryDelayMs(6, policy, 0)).toBe(12_000);
    expect(retryDelayMs(6, policy, JUST_BELOW_ONE)).toBe(20_000);
    expect(retryDelayMs(10, policy, 0)).toBe(22_500);
    expect(retryDelayMs(10, policy, JUST_BELOW_ONE)).toBe(37_500);
  });

  it('keeps every jittered delay within ±25 % of nominal over many draws', () => {
    const random = seededRandom(42);
    for (let attempt = 2; attempt <= 12; attempt++) {
      const nominal = Math.min(1000 * 2 ** (attempt - 2), 30_000);
      let low = Number.POSITIVE_INFINITY;
      let high = 0;
      for (let draw = 0; draw < 5000; draw++) {
        const delay = retryDelayMs(attempt, policy, random());
        low = Math.min(low, delay);
        high = Math.max(high, delay);
      }
      expect(low, `attempt ${attempt} low`).toBeGreaterThanOrEqual(nominal * 0.75);
      expect(high, `attempt ${attempt} high`).toBeLessThanOrEqual(nominal * 1.25);
      // The jitter is really applied: the draws reach close to both edges.
      expect(low, `attempt ${attempt} low`).toBeLessThan(nominal * 0.76);
      expect(high, `attempt ${attempt} high`).toBeGreaterThan(nominal * 1.24);
    }
  });

  it('never exceeds cap × 1.25, however many attempts', () => {
    for (const attempt of [7, 20, 100, 1024, 5000]) {
      expect(retryDelayMs(attempt, policy, JUST_BELOW_ONE)).toBeLessThanOrEqual(37_500);
      expect(retryDelayMs(attempt, policy, 0)).toBe(22_500);
    }
  });

  it('follows a custom policy', () => {
    const custom: BackoffPolicy = {
      maxAttempts: 3,
      firstDelayMaxMs: 10,
      baseDelayMs: 100,
      maxDelayMs: 250,
      jitter: 0,
    };
    const delays = [1, 2, 3, 4, 5].map((attempt) => retryDelayMs(attempt, custom, JUST_BELOW_ONE));
    expect(delays).toEqual([10, 100, 200, 250, 250]);
  });
});
