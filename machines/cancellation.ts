/**
 * The end of one request, the same chart on both sides. The answer streams until it completes,
 * fails, or is cancelled; a cancel is confirmed when the answer reports it stopped, loses the race
 * when the answer completes first, and is forced after `cancelTimeout`.
 *
 * Server: `answer` is the responder pump; `abortAnswer` fires its AbortSignal; the `report*`
 * actions send the final frame. Client: `answer` is not used; `abortAnswer` sends the `cancel`
 * frame; `answer.*` events come from the server's final frames; `report*` settle the result.
 */
import { assertEvent, fromCallback, sendTo, setup } from 'xstate';

export interface CancellationInput {
  /** The session (server) or thread (client) the request belongs to, for provided effects. */
  sessionId: string;
  requestId: string;
  cancelTimeoutMs: number;
}

export type CancellationContext = CancellationInput;

export type CancellationEvent =
  | { type: 'request.cancel' }
  | { type: 'answer.done' }
  | { type: 'answer.stopped' }
  | { type: 'answer.failed'; failure: AnswerFailure };

/** Why an answer failed, as the final error frame reports it. */
export interface AnswerFailure {
  code: string;
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
}

export type AnswerActorEvent = { type: 'answer.abort' };

export const cancellationMachine = setup({
  types: {
    context: {} as CancellationContext,
    events: {} as CancellationEvent,
    input: {} as CancellationInput,
  },
  actors: {
    /** Provided by the server: streams the answer and reports `answer.*` to its parent. */
    answer: fromCallback<AnswerActorEvent, { sessionId: string; requestId: string }>(
      () => undefined,
    ),
  },
  actions: {
    abortAnswer: sendTo('answer', { type: 'answer.abort' }),
    reportDone: () => {},
    reportCancelled: () => {},
    reportForced: () => {},
    reportFailed: (_, _params: AnswerFailure) => {},
  },
  delays: {
    cancelTimeout: ({ context }) => context.cancelTimeoutMs,
  },
}).createMachine({
  id: 'cancellation',
  context: ({ input }) => input,
  invoke: {
    id: 'answer',
    src: 'answer',
    input: ({ context }) => ({ sessionId: context.sessionId, requestId: context.requestId }),
  },
  initial: 'streaming',
  states: {
    streaming: {
      on: {
        'request.cancel': 'cancelRequested',
        'answer.done': 'completed',
        'answer.stopped': 'cancelled',
        'answer.failed': {
          target: 'failed',
          actions: {
            type: 'reportFailed',
            params: ({ event }) => {
              assertEvent(event, 'answer.failed');
              return event.failure;
            },
          },
        },
      },
    },
    cancelRequested: {
      entry: 'abortAnswer',
      on: {
        'answer.stopped': 'cancelled',
        'answer.failed': 'cancelled',
        'answer.done': 'completedFirst',
      },
      after: { cancelTimeout: 'forced' },
    },
    completed: { type: 'final', entry: 'reportDone' },
    completedFirst: { type: 'final', entry: 'reportDone' },
    cancelled: { type: 'final', entry: 'reportCancelled' },
    forced: { type: 'final', entry: 'reportForced' },
    failed: { type: 'final' },
  },
});
