/**
 * The circuit breaker as the server runs it: the chart with its log actions provided, admission
 * (refuse a request at once while the breaker is open), and a wrapper around the responder that
 * claims the half-open trial and reports each call's verdict to the chart.
 *
 * A call's verdict: its stream completed → success; it threw a retryable error (unreachable,
 * 5xx, stalled, broken mid-stream) → failure; it threw a non-retryable `ResponderError` (the
 * upstream answered, and refused this request on its own merits) → success, since the upstream is
 * evidently up; it was cancelled or stopped by the server → no verdict.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { ActorRefFrom, SnapshotFrom } from 'xstate';
import { circuitBreakerMachine } from '../../machines/circuit-breaker.ts';
import type { StatusFrame } from '../../machines/protocol.ts';
import type { Clock } from '../clock.ts';
import type { ServerConfig } from '../config.ts';
import { type Responder, ResponderError } from '../responders/responder.ts';

export type BreakerState = StatusFrame['breaker']['state'];
type BreakerActor = ActorRefFrom<typeof circuitBreakerMachine>;
type BreakerSnapshot = SnapshotFrom<typeof circuitBreakerMachine>;

/** While the trial is in flight, callers are told to come back after this (or the cooldown). */
export const TRIAL_RETRY_AFTER_MS = 1000;

export function breakerStateOf(snapshot: BreakerSnapshot): BreakerState {
  if (snapshot.matches('open')) return 'open';
  if (snapshot.matches('halfOpen')) return 'halfOpen';
  return 'closed';
}

/** Whether an error says the upstream is unhealthy (rather than this request being wrong). */
export function isUpstreamFailure(error: unknown): boolean {
  return !(error instanceof ResponderError) || error.retryable;
}

export interface BreakerProtectionOptions {
  config: ServerConfig;
  clock: Clock;
  logger: FastifyBaseLogger;
  /** Called after the breaker changes state. */
  onChange?: () => void;
}

export type BreakerProtection = ReturnType<typeof createBreakerProtection>;

export function createBreakerProtection(options: BreakerProtectionOptions) {
  const { config, clock, logger } = options;
  const log = logger.child({ component: 'breaker' });
  let actor: BreakerActor | null = null;
  let state: BreakerState = 'closed';

  const machine = circuitBreakerMachine.provide({
    actions: {
      logOpened: ({ context }) =>
        log.error(
          { failures: context.failures, cooldownMs: context.cooldownMs },
          `circuit breaker open after ${context.failures} consecutive upstream failures: failing fast for ${context.cooldownMs} ms`,
        ),
      logHalfOpen: () => log.info('circuit breaker half-open: the next request is the trial'),
      logClosed: () => log.info('circuit breaker closed: the upstream answered the trial'),
    },
  });

  function observe(snapshot: BreakerSnapshot) {
    const next = breakerStateOf(snapshot);
    if (next === state) return;
    state = next;
    options.onChange?.();
  }

  /** Whether a call may not go through now: open, or half-open with the trial in flight. */
  function isBlocked(snapshot: BreakerSnapshot): boolean {
    return snapshot.matches('open') || snapshot.matches({ halfOpen: 'trying' });
  }

  function retryAfterMs(): number | undefined {
    const snapshot = actor?.getSnapshot();
    if (!snapshot) return undefined;
    if (snapshot.matches('open')) {
      const openedAt = snapshot.context.openedAt ?? clock.now();
      return Math.max(0, openedAt + snapshot.context.cooldownMs - clock.now());
    }
    if (snapshot.matches({ halfOpen: 'trying' })) {
      return Math.min(TRIAL_RETRY_AFTER_MS, snapshot.context.cooldownMs);
    }
    return undefined;
  }

  function refusalMessage(snapshot: BreakerSnapshot): string {
    return snapshot.matches('open')
      ? 'the upstream keeps failing: the circuit breaker is open'
      : 'the upstream is being tried again: the circuit breaker is half-open';
  }

  return {
    machine,
    input: {
      failureThreshold: config.breakerFailureThreshold,
      cooldownMs: config.breakerCooldownMs,
    },
    attach(breaker: BreakerActor) {
      actor = breaker;
      observe(breaker.getSnapshot());
      breaker.subscribe({
        next: observe,
        error: (error) => log.error({ err: error }, 'circuit breaker chart failed'),
      });
    },
    get state(): BreakerState {
      return state;
    },
    retryAfterMs,
    status(): StatusFrame['breaker'] {
      const after = retryAfterMs();
      return after === undefined ? { state } : { state, retryAfterMs: after };
    },
    /** Why a new request must be refused now, or null to admit it. */
    refusal(): { code: 'upstream_unavailable'; message: string } | null {
      const snapshot = actor?.getSnapshot();
      if (!snapshot || !isBlocked(snapshot)) return null;
      return { code: 'upstream_unavailable', message: refusalMessage(snapshot) };
    },
    /** The responder behind the breaker: fails fast while blocked, reports every verdict. */
    guard(responder: Responder): Responder {
      return async function* (request) {
        const breaker = actor;
        if (!breaker) return yield* responder(request);
        const snapshot = breaker.getSnapshot();
        if (isBlocked(snapshot)) {
          throw new ResponderError(refusalMessage(snapshot), 'upstream_unavailable');
        }
        const trial = snapshot.matches({ halfOpen: 'ready' });
        if (trial) breaker.send({ type: 'trial.started' });
        let judged = false;
        try {
          yield* responder(request);
          judged = true;
          breaker.send({ type: 'upstream.succeeded' });
        } catch (error) {
          if (!request.signal.aborted) {
            judged = true;
            breaker.send(
              isUpstreamFailure(error)
                ? { type: 'upstream.failed', at: clock.now() }
                : { type: 'upstream.succeeded' },
            );
          }
          throw error;
        } finally {
          // Cancelled, or its stream stopped by the server: the next call may be the trial.
          if (trial && !judged) breaker.send({ type: 'trial.abandoned' });
        }
      };
    },
  };
}
