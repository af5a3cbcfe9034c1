/**
 * A thread as the client runs it: the root of the client's actor system. It owns the connection
 * (an invoked child), the queue of requests waiting their turn, and the one request that streams
 * (an invoked cancellation chart). The link region follows the session across drops: attached,
 * detached while reconnecting, then resumed, or expired when the server no longer had it.
 */
import { assertEvent, assign, raise, sendTo, setup } from 'xstate';
import { type AnswerFailure, cancellationMachine } from './cancellation.ts';
import { type ConnectionInput, connectionMachine } from './connection.ts';
import type { SessionLossReason } from './protocol.ts';

export interface ClientThreadInput {
  threadId: string;
  connection: ConnectionInput;
  cancelTimeoutMs: number;
}

export interface ClientThreadContext extends ClientThreadInput {
  /** Requests waiting their turn, oldest first. */
  queue: string[];
  activeRequestId: string | null;
  lostReason: SessionLossReason | null;
}

export type ClientThreadEvent =
  /** The handshake completed; `lost` says the old session was gone and a new one began. */
  | { type: 'link.ready'; resumed: boolean; lost?: SessionLossReason }
  | { type: 'link.lost' }
  | { type: 'request.queued'; requestId: string }
  | { type: 'request.cancel'; requestId: string }
  /** The server refused the request as busy: it was not started and goes back to the queue. */
  | { type: 'request.refused'; requestId: string }
  /** Final frames of the active request, from the server. */
  | { type: 'answer.done' }
  | { type: 'answer.stopped' }
  | { type: 'answer.failed'; failure: AnswerFailure }
  | { type: 'session.lost'; reason: SessionLossReason }
  | { type: 'thread.close' };

export const clientThreadMachine = setup({
  types: {
    context: {} as ClientThreadContext,
    events: {} as ClientThreadEvent,
    input: {} as ClientThreadInput,
  },
  actors: { connection: connectionMachine, request: cancellationMachine },
  actions: {
    enqueue: assign({
      queue: ({ context, event }) => {
        assertEvent(event, 'request.queued');
        return [...context.queue, event.requestId];
      },
    }),
    takeNext: assign(({ context }) => ({
      activeRequestId: context.queue[0] ?? null,
      queue: context.queue.slice(1),
    })),
    requeueActive: assign(({ context }) => ({
      queue: context.activeRequestId ? [context.activeRequestId, ...context.queue] : context.queue,
      activeRequestId: null,
    })),
    clearActive: assign({ activeRequestId: null }),
    dropQueued: assign({
      queue: ({ context, event }) => {
        assertEvent(event, 'request.cancel');
        return context.queue.filter((id) => id !== event.requestId);
      },
    }),
    recordLoss: assign({
      lostReason: ({ event }) => {
        assertEvent(event, 'link.ready');
        return event.lost ?? null;
      },
    }),
    raiseSessionLost: raise(({ context }) => ({
      type: 'session.lost' as const,
      reason: context.lostReason ?? 'unknown',
    })),
    forwardToRequest: sendTo('request', ({ event }) => event),
    forwardCancel: sendTo('request', { type: 'request.cancel' }),
    failLostRequest: sendTo('request', ({ event }) => {
      assertEvent(event, 'session.lost');
      return {
        type: 'answer.failed' as const,
        failure: {
          code: 'session_lost',
          message: `the session could not be resumed (${event.reason}); this answer was lost`,
          retryable: false,
        },
      };
    }),
    closeConnection: sendTo('connection', { type: 'connection.close' }),
    /** Provided by the client: put the request on the wire. */
    sendRequest: () => {},
    /** Provided by the client: a request the server had not acknowledged goes again. */
    resendUnacknowledged: () => {},
    /** Provided by the client: settle a request that never left the queue. */
    reportQueuedCancelled: (_, _params: { requestId: string }) => {},
  },
  guards: {
    hasQueued: ({ context }) => context.queue.length > 0,
    isSessionLost: ({ event }) => {
      assertEvent(event, 'link.ready');
      return event.lost !== undefined;
    },
    isActiveRequest: ({ context, event }) => {
      assertEvent(event, ['request.cancel', 'request.refused']);
      return event.requestId === context.activeRequestId;
    },
  },
  delays: {
    refusalRetry: 250,
  },
}).createMachine({
  id: 'clientThread',
  context: ({ input }) => ({ ...input, queue: [], activeRequestId: null, lostReason: null }),
  invoke: {
    id: 'connection',
    src: 'connection',
    input: ({ context }) => context.connection,
    onDone: '.closed',
  },
  initial: 'opening',
  states: {
    opening: {
      on: {
        // A page that starts with a stored session learns here whether the server still had it;
        // nothing of this page was in flight there, so the loss is only recorded (requests taken
        // back with `adopt()` are failed by the client itself).
        'link.ready': { target: 'open', actions: 'recordLoss' },
      },
    },
    open: {
      type: 'parallel',
      states: {
        link: {
          initial: 'attached',
          states: {
            attached: { on: { 'link.lost': 'detached' } },
            detached: {
              on: {
                'link.ready': [
                  { guard: 'isSessionLost', target: 'expired', actions: 'recordLoss' },
                  { target: 'resumed' },
                ],
              },
            },
            resumed: { entry: 'resendUnacknowledged', always: 'attached' },
            expired: { entry: 'raiseSessionLost', always: 'attached' },
          },
        },
        work: {
          initial: 'idle',
          states: {
            idle: {
              always: { guard: 'hasQueued', target: 'streaming' },
            },
            /** The server was still busy (its side of a forced cancel): wait, then try again. */
            refused: {
              after: { refusalRetry: 'idle' },
            },
            streaming: {
              entry: ['takeNext', 'sendRequest'],
              invoke: {
                id: 'request',
                src: 'request',
                input: ({ context }) => ({
                  sessionId: context.threadId,
                  requestId: context.activeRequestId ?? '',
                  cancelTimeoutMs: context.cancelTimeoutMs,
                }),
                onDone: { target: 'idle', actions: 'clearActive' },
              },
              on: {
                'answer.done': { actions: 'forwardToRequest' },
                'answer.stopped': { actions: 'forwardToRequest' },
                'answer.failed': { actions: 'forwardToRequest' },
                'session.lost': { actions: 'failLostRequest' },
                'request.refused': {
                  guard: 'isActiveRequest',
                  target: 'refused',
                  actions: 'requeueActive',
                },
                // A cancel of a queued request falls through to the thread's own handler.
                'request.cancel': { guard: 'isActiveRequest', actions: 'forwardCancel' },
              },
            },
          },
        },
      },
    },
    // The connection's own close timeout bounds this: its end (`onDone`) closes the thread.
    closing: {
      entry: 'closeConnection',
    },
    closed: { type: 'final' },
  },
  on: {
    'thread.close': '.closing',
    'request.queued': { actions: 'enqueue' },
    'request.cancel': {
      actions: [
        'dropQueued',
        { type: 'reportQueuedCancelled', params: ({ event }) => ({ requestId: event.requestId }) },
      ],
    },
  },
});
