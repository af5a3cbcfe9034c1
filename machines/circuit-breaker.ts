/**
 * The circuit breaker around the upstream responder. Closed, it lets every call through and counts
 * consecutive failures; the `failureThreshold`-th opens it. Open, calls fail fast without reaching
 * the upstream; after `cooldown` it turns half-open, where exactly one trial call may go through:
 * its success closes the breaker, its failure opens it again, and a trial abandoned before either
 * (the request was cancelled) lets the next call be the trial.
 *
 * Each call ends in one verdict, reported by the server's responder wrapper: `upstream.succeeded`
 * or `upstream.failed` (with the time, so the server can say how long the breaker stays open).
 * Verdicts of calls that began before the breaker opened still count once they arrive half-open:
 * any answer from the upstream is evidence of its health.
 */
import { assertEvent, assign, setup } from 'xstate';

export interface CircuitBreakerInput {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long the breaker stays open before a trial call may go through. */
  cooldownMs: number;
}

export interface CircuitBreakerContext extends CircuitBreakerInput {
  /** Consecutive failures while closed. */
  failures: number;
  /** When the breaker last opened, on the server's clock; null until it first does. */
  openedAt: number | null;
}

export type CircuitBreakerEvent =
  | { type: 'upstream.succeeded' }
  | { type: 'upstream.failed'; at: number }
  /** A call is let through half-open: it is the trial. */
  | { type: 'trial.started' }
  /** The trial ended with no verdict (cancelled, or its stream was stopped by the server). */
  | { type: 'trial.abandoned' };

export const circuitBreakerMachine = setup({
  types: {
    context: {} as CircuitBreakerContext,
    events: {} as CircuitBreakerEvent,
    input: {} as CircuitBreakerInput,
  },
  actions: {
    countFailure: assign({ failures: ({ context }) => context.failures + 1 }),
    resetFailures: assign({ failures: 0 }),
    recordOpening: assign({
      openedAt: ({ event }) => {
        assertEvent(event, 'upstream.failed');
        return event.at;
      },
    }),
    logOpened: () => {},
    logHalfOpen: () => {},
    logClosed: () => {},
  },
  guards: {
    isThresholdReached: ({ context }) => context.failures + 1 >= context.failureThreshold,
  },
  delays: {
    cooldown: ({ context }) => context.cooldownMs,
  },
}).createMachine({
  id: 'breaker',
  context: ({ input }) => ({ ...input, failures: 0, openedAt: null }),
  initial: 'closed',
  states: {
    closed: {
      on: {
        'upstream.succeeded': { actions: 'resetFailures' },
        'upstream.failed': [
          { guard: 'isThresholdReached', target: 'open', actions: 'countFailure' },
          { actions: 'countFailure' },
        ],
      },
    },
    open: {
      entry: ['recordOpening', 'logOpened'],
      after: { cooldown: 'halfOpen' },
    },
    halfOpen: {
      entry: 'logHalfOpen',
      initial: 'ready',
      on: {
        'upstream.succeeded': { target: 'closed', actions: ['resetFailures', 'logClosed'] },
        'upstream.failed': 'open',
      },
      states: {
        ready: { on: { 'trial.started': 'trying' } },
        trying: { on: { 'trial.abandoned': 'ready' } },
      },
    },
  },
});
