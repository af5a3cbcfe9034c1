/**
 * The connection chart as a test model. The chart alone does not know what its backoff child
 * will answer, so the model answers for it from the context the chart keeps (attempt, maxAttempts)
 * with the payloads the real child sends, and only when the real child would: at once on entering
 * `reconnecting` and right after `connection.retry`. Events are offered only where the real
 * system can produce them (see `closeEvents`).
 */
import type { AnyMachineSnapshot, EventObject } from 'xstate';
import { retryDelayMs } from '../../machines/backoff-schedule.ts';
import { CloseCode } from '../../machines/close-codes.ts';
import type { ConnectionEvent, ConnectionInput } from '../../machines/connection.ts';
import { machines } from '../../machines/index.ts';
import { generatedEventTypes } from './chart-graph.ts';
import type { ChartModel } from './model-paths.ts';
import { rigBackoff, rigRandom, rigServerSilenceLimitMs, rigTimeouts } from './rig-settings.ts';

export const connectionChart = machines.connection;

export const connectionInput: ConnectionInput = {
  url: 'ws://model.invalid/ws',
  threadId: 'model-thread',
  timeouts: rigTimeouts,
  backoff: rigBackoff,
};

/** Phases: the backoff child owes an answer to `backoff.schedule`, or to `backoff.retryNow`. */
export const AnswerDue = 'answer-due';
export const RetryDue = 'retry-due';

export function socketClosed(code: number): ConnectionEvent {
  return { type: 'socket.closed', code, reason: '' };
}

/**
 * The closes the real system produces in each state: a dropped link (1006) while linked; a
 * newer connection resuming the session (4409, fatal) once a session is attached; the server's
 * answer to `bye` (1000) while closing. The forged-resume 4403 is a hand-written scenario, since
 * a client that forges its resume can never complete a handshake.
 */
function closeEvents(snapshot: AnyMachineSnapshot): ConnectionEvent[] {
  if (snapshot.matches({ linked: 'closing' })) return [socketClosed(CloseCode.Normal)];
  if (snapshot.matches({ linked: { open: 'ready' } })) {
    return [socketClosed(CloseCode.Abnormal), socketClosed(CloseCode.Superseded)];
  }
  return [socketClosed(CloseCode.Abnormal)];
}

/** What the real backoff child tells the chart when it schedules attempt `attempt`. */
export function backoffScheduled(attempt: number): ConnectionEvent {
  const delayMs = retryDelayMs(attempt, rigBackoff, rigRandom);
  return {
    type: 'backoff.scheduled',
    attempt,
    maxAttempts: rigBackoff.maxAttempts,
    delayMs,
    retryAt: null,
  };
}

/** The server's welcome; it also hands the client the server's silence limit. */
export const serverWelcome: ConnectionEvent = {
  type: 'server.welcome',
  sessionId: 'model-session',
  resumed: false,
  silenceLimitMs: rigServerSilenceLimitMs,
};

const delayedEvents: EventObject[] = generatedEventTypes(connectionChart).map((type) => ({ type }));

export const connectionModel: ChartModel = {
  machine: connectionChart,
  input: connectionInput,
  identify: (snapshot) => ({ value: snapshot.value, attempt: snapshot.context.attempt }),
  phase: (snapshot, event) => {
    if (event?.type === 'connection.retry') return RetryDue;
    // `retryDelayMs` is cleared by every way into `reconnecting` and set by the child's answer.
    if (snapshot.matches('reconnecting') && snapshot.context.retryDelayMs === null) {
      return AnswerDue;
    }
    return '';
  },
  events: (snapshot, phase) => {
    const attempt: number = snapshot.context.attempt;
    const max = rigBackoff.maxAttempts;
    if (phase === AnswerDue) {
      if (attempt >= max) return [{ type: 'backoff.exhausted', attempts: attempt }];
      return [backoffScheduled(attempt + 1)];
    }
    if (phase === RetryDue) {
      // After exhaustion a retry starts a new series; otherwise it is the next attempt.
      const next = snapshot.matches('failed') ? (attempt >= max ? 1 : attempt + 1) : attempt;
      return [{ type: 'backoff.retry', attempt: next }];
    }
    return [
      ...delayedEvents,
      ...closeEvents(snapshot),
      { type: 'socket.opened' },
      serverWelcome,
      { type: 'server.ping' },
      { type: 'connection.retry' },
      { type: 'connection.close' },
      // Only a waiting backoff fires on its own (its delay elapsed); in `failed` it needs a retry.
      ...(snapshot.matches('reconnecting') ? [{ type: 'backoff.retry', attempt }] : []),
    ];
  },
};
