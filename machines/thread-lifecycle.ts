/**
 * A thread's session as the server keeps it. While open, two things run side by side: the link
 * (attached to a socket, or detached and kept for `sessionTtl`, or just resumed) and the work
 * (idle, or streaming exactly one request, whose cancellation chart runs as a child). Saying
 * goodbye closes it; a TTL with no socket expires it. Either way the request child is stopped,
 * which aborts its answer: nothing outlives the session.
 */
import { assertEvent, assign, sendTo, setup } from 'xstate';
import { cancellationMachine } from './cancellation.ts';

export interface ThreadLifecycleInput {
  sessionId: string;
  sessionTtlMs: number;
  cancelTimeoutMs: number;
  closeTimeoutMs: number;
}

export interface ThreadLifecycleContext extends ThreadLifecycleInput {
  activeRequestId: string | null;
}

export type ThreadLifecycleEvent =
  | { type: 'socket.attached'; lastSeq: number }
  | { type: 'socket.detached' }
  | { type: 'request.start'; requestId: string }
  | { type: 'request.cancel'; requestId: string }
  | { type: 'thread.bye' };

export const threadLifecycleMachine = setup({
  types: {
    context: {} as ThreadLifecycleContext,
    events: {} as ThreadLifecycleEvent,
    input: {} as ThreadLifecycleInput,
  },
  actors: { request: cancellationMachine },
  actions: {
    startRequest: assign({
      activeRequestId: ({ event }) => {
        assertEvent(event, 'request.start');
        return event.requestId;
      },
    }),
    clearRequest: assign({ activeRequestId: null }),
    forwardCancel: sendTo('request', { type: 'request.cancel' }),
    refuseBusy: (_, _params: { requestId: string }) => {},
    reportUnknownRequest: (_, _params: { requestId: string }) => {},
    replayMissed: () => {},
    closeSocket: () => {},
    releaseSession: (_, _params: { reason: 'expired' | 'closed' }) => {},
  },
  guards: {
    isActiveRequest: ({ context, event }) => {
      assertEvent(event, 'request.cancel');
      return event.requestId === context.activeRequestId;
    },
  },
  delays: {
    sessionTtl: ({ context }) => context.sessionTtlMs,
    closeTimeout: ({ context }) => context.closeTimeoutMs,
  },
}).createMachine({
  id: 'threadLifecycle',
  context: ({ input }) => ({ ...input, activeRequestId: null }),
  initial: 'open',
  states: {
    open: {
      type: 'parallel',
      states: {
        link: {
          initial: 'attached',
          states: {
            attached: { on: { 'socket.detached': 'detached' } },
            detached: {
              on: { 'socket.attached': 'resumed' },
              after: { sessionTtl: '#threadLifecycle.expired' },
            },
            resumed: { entry: 'replayMissed', always: 'attached' },
          },
        },
        work: {
          initial: 'idle',
          states: {
            idle: {
              on: {
                'request.start': { target: 'streaming', actions: 'startRequest' },
                'request.cancel': {
                  actions: {
                    type: 'reportUnknownRequest',
                    params: ({ event }) => ({ requestId: event.requestId }),
                  },
                },
              },
            },
            streaming: {
              invoke: {
                id: 'request',
                src: 'request',
                input: ({ context }) => ({
                  sessionId: context.sessionId,
                  requestId: context.activeRequestId ?? '',
                  cancelTimeoutMs: context.cancelTimeoutMs,
                }),
                onDone: { target: 'idle', actions: 'clearRequest' },
              },
              on: {
                'request.start': {
                  actions: {
                    type: 'refuseBusy',
                    params: ({ event }) => ({ requestId: event.requestId }),
                  },
                },
                'request.cancel': [
                  { guard: 'isActiveRequest', actions: 'forwardCancel' },
                  {
                    actions: {
                      type: 'reportUnknownRequest',
                      params: ({ event }) => ({ requestId: event.requestId }),
                    },
                  },
                ],
              },
            },
          },
        },
      },
      on: { 'thread.bye': 'closing' },
    },
    closing: {
      entry: 'closeSocket',
      on: { 'socket.detached': 'closed' },
      after: { closeTimeout: 'closed' },
    },
    // Ends, but not `final`: `releaseSession` has the root stop this actor at once, and a final
    // child would send the root an `xstate.done.actor.<sessionId>` event, a one-off event type that
    // XState caches in the root's transition memo for good (a leak of ~300 bytes per session).
    expired: { entry: { type: 'releaseSession', params: { reason: 'expired' } } },
    closed: { entry: { type: 'releaseSession', params: { reason: 'closed' } } },
  },
});
