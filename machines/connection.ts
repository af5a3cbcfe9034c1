/**
 * The client's connection to one thread: opens a socket, shakes hands, watches the heartbeat,
 * and on a drop either reconnects through the backoff chart or, for a fatal close code, stops.
 *
 * The socket itself is an invoked actor (`webSocket`) that the client provides; leaving `linked`
 * stops it, which closes the socket, so no path can leak one. Data frames never pass through
 * this chart: only what changes the connection's state does.
 */
import { assertEvent, assign, fromCallback, sendTo, setup } from 'xstate';
import type { BackoffPolicy } from './backoff-schedule.ts';
import { CloseCode, isRetryableClose } from './close-codes.ts';
import type { SessionLossReason } from './protocol.ts';
import {
  type ReconnectionBackoffParentEvent,
  reconnectionBackoffMachine,
} from './reconnection-backoff.ts';

export interface ConnectionTimeouts {
  /** Give up on a socket that has not opened by then. */
  connectTimeoutMs: number;
  /** Give up on a server that has not answered `hello` by then. */
  handshakeTimeoutMs: number;
  /** A server silent this long (no ping, no frame) is dead. */
  silenceLimitMs: number;
  /** After saying goodbye, wait this long for the server's close before forcing it. */
  closeTimeoutMs: number;
}

export const defaultConnectionTimeouts: ConnectionTimeouts = {
  connectTimeoutMs: 5000,
  handshakeTimeoutMs: 5000,
  silenceLimitMs: 5000,
  closeTimeoutMs: 500,
};

export interface ConnectionInput {
  url: string;
  threadId: string;
  timeouts?: Partial<ConnectionTimeouts>;
  backoff?: Partial<BackoffPolicy>;
}

export interface WebSocketActorInput {
  url: string;
}

export interface ConnectionContext {
  url: string;
  threadId: string;
  timeouts: ConnectionTimeouts;
  backoff: Partial<BackoffPolicy>;
  /** The reconnection attempt under way or pending (0 while connected). */
  attempt: number;
  maxAttempts: number;
  /** When the pending reconnection attempt fires, on the system clock; null when none is pending. */
  nextRetryAt: number | null;
  retryDelayMs: number | null;
  lastCloseCode: number | null;
  lastCloseReason: string | null;
  sessionId: string | null;
  /** Whether the latest handshake resumed an existing session. */
  resumed: boolean;
  /** Why the latest handshake could not resume the session, if it could not. */
  lostReason: SessionLossReason | null;
  /** How many times the socket reached `open` (handshake done). */
  connections: number;
}

export type ConnectionEvent =
  | { type: 'socket.opened' }
  | { type: 'socket.closed'; code: number; reason: string }
  | {
      type: 'server.welcome';
      sessionId: string;
      resumed: boolean;
      /** Why the session asked for could not be resumed (a new one began). */
      lost?: SessionLossReason;
      /** The server's own silence limit: the client watches for the same. */
      silenceLimitMs?: number;
    }
  | { type: 'server.ping' }
  /** Reconnect now: skips the backoff wait, or starts afresh after "failed". */
  | { type: 'connection.retry' }
  /** Say goodbye and close for good. */
  | { type: 'connection.close' }
  | ReconnectionBackoffParentEvent;

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
  },
  actors: {
    backoff: reconnectionBackoffMachine,
    /**
     * Provided by the client: opens the socket and reports `socket.*` and `server.*` events to
     * its parent; stopping it closes the socket. This placeholder opens nothing.
     */
    webSocket: fromCallback<ConnectionEvent, WebSocketActorInput>(() => undefined),
  },
  actions: {
    sendHello: () => {},
    sendPong: () => {},
    sendBye: () => {},
    /** Tells the client the handshake completed, so it can flush queued requests. */
    announceOpen: () => {},
    /** Tells the client the link is no longer ready. */
    announceLost: () => {},
    scheduleRetry: sendTo('backoff', { type: 'backoff.schedule' }),
    retryNow: sendTo('backoff', { type: 'backoff.retryNow' }),
    resetBackoff: sendTo('backoff', { type: 'backoff.reset' }),
    recordClose: assign(({ event }) => {
      assertEvent(event, 'socket.closed');
      return { lastCloseCode: event.code, lastCloseReason: event.reason };
    }),
    recordTimeout: assign({ lastCloseCode: CloseCode.Timeout, lastCloseReason: 'timed out' }),
    recordSilence: assign({
      lastCloseCode: CloseCode.Timeout,
      lastCloseReason: 'server silent past the heartbeat limit',
    }),
    recordWelcome: assign(({ context, event }) => {
      assertEvent(event, 'server.welcome');
      return {
        sessionId: event.sessionId,
        resumed: event.resumed,
        lostReason: event.lost ?? null,
        timeouts: event.silenceLimitMs
          ? { ...context.timeouts, silenceLimitMs: event.silenceLimitMs }
          : context.timeouts,
        attempt: 0,
        nextRetryAt: null,
        retryDelayMs: null,
        connections: context.connections + 1,
      };
    }),
    recordSchedule: assign(({ event }) => {
      assertEvent(event, 'backoff.scheduled');
      return {
        attempt: event.attempt,
        maxAttempts: event.maxAttempts,
        nextRetryAt: event.retryAt,
        retryDelayMs: event.delayMs,
      };
    }),
    recordAttempt: assign(({ event }) => {
      assertEvent(event, 'backoff.retry');
      return { attempt: event.attempt, nextRetryAt: null, retryDelayMs: null };
    }),
    clearSchedule: assign({ nextRetryAt: null, retryDelayMs: null }),
  },
  guards: {
    isRetryable: ({ event }) => {
      assertEvent(event, 'socket.closed');
      return isRetryableClose(event.code);
    },
  },
  delays: {
    connectTimeout: ({ context }) => context.timeouts.connectTimeoutMs,
    handshakeTimeout: ({ context }) => context.timeouts.handshakeTimeoutMs,
    silenceLimit: ({ context }) => context.timeouts.silenceLimitMs,
    closeTimeout: ({ context }) => context.timeouts.closeTimeoutMs,
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({
    url: input.url,
    threadId: input.threadId,
    timeouts: { ...defaultConnectionTimeouts, ...input.timeouts },
    backoff: input.backoff ?? {},
    attempt: 0,
    maxAttempts: input.backoff?.maxAttempts ?? 10,
    nextRetryAt: null,
    retryDelayMs: null,
    lastCloseCode: null,
    lastCloseReason: null,
    sessionId: null,
    resumed: false,
    lostReason: null,
    connections: 0,
  }),
  invoke: {
    id: 'backoff',
    src: 'backoff',
    input: ({ context }) => ({ policy: context.backoff }),
  },
  initial: 'linked',
  states: {
    linked: {
      invoke: {
        id: 'socket',
        src: 'webSocket',
        input: ({ context }) => ({ url: context.url }),
      },
      initial: 'connecting',
      states: {
        connecting: {
          on: { 'socket.opened': 'open' },
          after: {
            connectTimeout: { target: '#connection.reconnecting', actions: 'recordTimeout' },
          },
        },
        open: {
          // On `open`, not `ready`: a ping re-enters `ready`, and must not read as a lost link.
          exit: 'announceLost',
          initial: 'handshaking',
          states: {
            handshaking: {
              entry: 'sendHello',
              on: {
                'server.welcome': {
                  target: 'ready',
                  actions: ['recordWelcome', 'resetBackoff', 'announceOpen'],
                },
              },
              after: {
                handshakeTimeout: { target: '#connection.reconnecting', actions: 'recordTimeout' },
              },
            },
            ready: {
              on: {
                'server.ping': { target: 'ready', reenter: true, actions: 'sendPong' },
              },
              after: {
                silenceLimit: { target: '#connection.reconnecting', actions: 'recordSilence' },
              },
            },
          },
        },
        closing: {
          entry: 'sendBye',
          on: { 'socket.closed': { target: '#connection.closed', actions: 'recordClose' } },
          after: { closeTimeout: '#connection.closed' },
        },
      },
      on: {
        'socket.closed': [
          { guard: 'isRetryable', target: 'reconnecting', actions: 'recordClose' },
          { target: 'failed', actions: 'recordClose' },
        ],
        'connection.close': '.closing',
      },
    },
    reconnecting: {
      entry: 'scheduleRetry',
      on: {
        'backoff.scheduled': { actions: 'recordSchedule' },
        'backoff.retry': { target: 'linked', actions: 'recordAttempt' },
        'backoff.exhausted': { target: 'failed', actions: 'clearSchedule' },
        'connection.retry': { actions: 'retryNow' },
        'connection.close': 'closed',
      },
    },
    failed: {
      on: {
        'backoff.retry': { target: 'linked', actions: 'recordAttempt' },
        'connection.retry': { actions: 'retryNow' },
        'connection.close': 'closed',
      },
    },
    closed: { type: 'final' },
  },
});
