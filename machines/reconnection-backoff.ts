/**
 * Reconnection backoff: counts the attempts of one outage, waits the jittered exponential delay
 * before each, gives up after `maxAttempts`, and lets a person (or the browser coming back online)
 * skip the wait. It runs as a child of the connection chart and reports to it with sendParent.
 */
import { assertEvent, assign, sendParent, setup } from 'xstate';
import { type BackoffPolicy, defaultBackoffPolicy, retryDelayMs } from './backoff-schedule.ts';

export interface ReconnectionBackoffContext {
  policy: BackoffPolicy;
  /** The attempt being waited for (1-based); 0 while connected. */
  attempt: number;
  /** The delay chosen for the pending attempt. */
  delayMs: number | null;
  /** When the pending attempt fires, on the system clock (set by the provided `planRetry`). */
  retryAt: number | null;
}

export type ReconnectionBackoffEvent =
  /** The connection dropped (again): schedule the next attempt or give up. */
  | { type: 'backoff.schedule' }
  /** Skip the wait: attempt now. After exhaustion this starts a fresh series. */
  | { type: 'backoff.retryNow' }
  /**
   * A connection succeeded: the next outage starts from attempt 1. Only `idle` takes it: while
   * waiting or exhausted there is no socket that could have succeeded.
   */
  | { type: 'backoff.reset' };

/** What the chart tells its parent. */
export type ReconnectionBackoffParentEvent =
  | {
      type: 'backoff.scheduled';
      attempt: number;
      maxAttempts: number;
      delayMs: number;
      retryAt: number | null;
    }
  | { type: 'backoff.retry'; attempt: number }
  | { type: 'backoff.exhausted'; attempts: number };

export interface ReconnectionBackoffInput {
  policy?: Partial<BackoffPolicy>;
}

export const reconnectionBackoffMachine = setup({
  types: {
    context: {} as ReconnectionBackoffContext,
    events: {} as ReconnectionBackoffEvent,
    input: {} as ReconnectionBackoffInput,
  },
  actions: {
    countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    /**
     * Chooses the delay for the pending attempt. This default is deterministic (mid-jitter, no
     * clock); the client provides one that draws real randomness and stamps `retryAt`.
     */
    planRetry: assign({
      delayMs: ({ context }) => retryDelayMs(context.attempt, context.policy, 0.5),
      retryAt: null,
    }),
    reportScheduled: sendParent(({ context }) => ({
      type: 'backoff.scheduled',
      attempt: context.attempt,
      maxAttempts: context.policy.maxAttempts,
      delayMs: context.delayMs ?? 0,
      retryAt: context.retryAt,
    })),
    requestAttempt: sendParent(({ context }) => ({
      type: 'backoff.retry',
      attempt: context.attempt,
    })),
    reportExhausted: sendParent(({ context }) => ({
      type: 'backoff.exhausted',
      attempts: context.attempt,
    })),
    resetAttempts: assign({ attempt: 0, delayMs: null, retryAt: null }),
    clearPlan: assign({ delayMs: null, retryAt: null }),
  },
  guards: {
    isExhausted: ({ context, event }) => {
      assertEvent(event, 'backoff.schedule');
      return context.attempt >= context.policy.maxAttempts;
    },
  },
  delays: {
    retryDelay: ({ context }) => context.delayMs ?? 0,
  },
}).createMachine({
  id: 'reconnectionBackoff',
  context: ({ input }) => ({
    policy: { ...defaultBackoffPolicy, ...input.policy },
    attempt: 0,
    delayMs: null,
    retryAt: null,
  }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        'backoff.schedule': [
          { guard: 'isExhausted', target: 'exhausted' },
          { target: 'waiting', actions: ['countAttempt', 'planRetry', 'reportScheduled'] },
        ],
        'backoff.retryNow': { actions: ['countAttempt', 'requestAttempt'] },
        'backoff.reset': { actions: 'resetAttempts' },
      },
    },
    waiting: {
      after: {
        retryDelay: { target: 'idle', actions: ['clearPlan', 'requestAttempt'] },
      },
      on: {
        'backoff.retryNow': { target: 'idle', actions: ['clearPlan', 'requestAttempt'] },
      },
    },
    exhausted: {
      entry: ['clearPlan', 'reportExhausted'],
      on: {
        'backoff.retryNow': {
          target: 'idle',
          actions: ['resetAttempts', 'countAttempt', 'requestAttempt'],
        },
      },
    },
  },
});
