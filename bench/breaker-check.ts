/**
 * What the circuit breaker costs each request: the server's own breaker (the real chart in a real
 * actor, as the gateway provides it) measured on the two paths every request takes through it.
 *
 * - admission: `thermal.refusal() ?? breaker.refusal()` before the request starts, closed (the
 *   common case) and open (the fail-fast case);
 * - the call: the breaker's responder wrapper around a one-chunk responder, minus the same
 *   responder unwrapped: the trial check plus the verdict sent to the chart (a transition);
 * - fail fast: the wrapper refusing while open (throws before the upstream is touched).
 *
 * Target: under 0.1 ms per request.
 *
 *   node --import tsx bench/breaker-check.ts [iterations=200000]
 */
import type { FastifyBaseLogger } from 'fastify';
import { createActor } from 'xstate';
import { createBreakerProtection } from '../server/breaker/breaker-protection.ts';
import { systemClock } from '../server/clock.ts';
import { resolveConfig } from '../server/config.ts';
import type { Responder } from '../server/responders/responder.ts';
import { createThermalProtection } from '../server/thermal/thermal-protection.ts';
import { deadline, environmentNote } from './support/deadline.ts';
import { report } from './support/report.ts';

const ITERATIONS = Number(process.argv[2] ?? 200_000);
const TARGET_MS = 0.1;

const silent = {
  child: () => silent,
  fatal: () => {},
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  trace: () => {},
} as unknown as FastifyBaseLogger;

const oneChunk: Responder = async function* () {
  yield 'x';
};

/** Mean milliseconds per call of `fn`, over `iterations` calls after a warm-up. */
function timeSync(iterations: number, fn: () => unknown): number {
  for (let i = 0; i < Math.min(10_000, iterations); i++) fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return (performance.now() - start) / iterations;
}

async function timeAsync(iterations: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(10_000, iterations); i++) await fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) await fn();
  return (performance.now() - start) / iterations;
}

async function drain(responder: Responder, signal: AbortSignal): Promise<void> {
  for await (const _ of responder({ text: 'hi', history: [], signal })) {
    // consume
  }
}

async function main() {
  const disarm = deadline(120_000, 'breaker-check');
  const config = resolveConfig({ breakerCooldownMs: 3_600_000 }, 'production');
  const thermal = createThermalProtection({
    config,
    clock: systemClock,
    logger: silent,
    source: { description: 'none', read: null },
  });
  const breaker = createBreakerProtection({ config, clock: systemClock, logger: silent });
  const thermalActor = createActor(thermal.machine, { input: thermal.input }).start();
  const breakerActor = createActor(breaker.machine, { input: breaker.input }).start();
  thermal.attach(thermalActor);
  breaker.attach(breakerActor);
  const guarded = breaker.guard(oneChunk);
  const signal = new AbortController().signal;

  const admitClosed = timeSync(ITERATIONS, () => thermal.refusal() ?? breaker.refusal());
  const bare = await timeAsync(ITERATIONS, () => drain(oneChunk, signal));
  const wrapped = await timeAsync(ITERATIONS, () => drain(guarded, signal));
  const callOverhead = Math.max(0, wrapped - bare);
  const closedTotal = admitClosed + callOverhead;

  for (let i = 0; i < config.breakerFailureThreshold; i++) {
    breakerActor.send({ type: 'upstream.failed', at: systemClock.now() });
  }
  if (breaker.state !== 'open') throw new Error(`expected the breaker open, not ${breaker.state}`);
  const admitOpen = timeSync(ITERATIONS, () => thermal.refusal() ?? breaker.refusal());
  const retryAfter = timeSync(ITERATIONS, () => breaker.retryAfterMs());
  const failFast = await timeAsync(ITERATIONS, () => drain(guarded, signal).catch(() => {}));

  thermalActor.stop();
  breakerActor.stop();
  disarm();
  const row = (metric: string, ms: number, target = true) => ({
    metric,
    threadline: ms * 1000,
    raw: null,
    unit: 'µs',
    digits: 2,
    ...(target ? { target: `< ${TARGET_MS * 1000} µs`, pass: ms < TARGET_MS } : {}),
  });
  report(
    'breaker check',
    [
      row('admission check, closed', admitClosed),
      row('wrapper overhead per call, closed (verdict sent)', callOverhead),
      row('breaker cost per admitted request (sum)', closedTotal),
      row('admission check, open (refusal built)', admitOpen),
      row('retryAfterMs, open', retryAfter, false),
      row('fail fast in the wrapper, open', failFast),
      row('one-chunk responder, unwrapped (reference)', bare, false),
    ],
    [
      `${ITERATIONS.toLocaleString('en-US')} iterations each, after 10,000 warm-up`,
      environmentNote(),
    ],
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
