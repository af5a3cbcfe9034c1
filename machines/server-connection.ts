/**
 * One socket as the server sees it: waits for the handshake (closing with 4408 when none comes),
 * then pings on a fixed beat and terminates a peer that stays silent past the limit. The server
 * provides the effects; the chart only decides when.
 */
import { setup } from 'xstate';

export interface ServerConnectionInput {
  connectionId: string;
  handshakeTimeoutMs: number;
  heartbeatIntervalMs: number;
  silenceLimitMs: number;
}

export type ServerConnectionContext = ServerConnectionInput;

export type ServerConnectionEvent =
  /** The hello was accepted and a session attached to this socket. */
  | { type: 'session.attached'; sessionId: string }
  /** Any valid frame from the client: proof of life. */
  | { type: 'client.activity' }
  | { type: 'socket.closed'; code: number };

export const serverConnectionMachine = setup({
  types: {
    context: {} as ServerConnectionContext,
    events: {} as ServerConnectionEvent,
    input: {} as ServerConnectionInput,
  },
  actions: {
    sendPing: () => {},
    closeForHandshakeTimeout: () => {},
    terminateSilentPeer: () => {},
  },
  delays: {
    handshakeTimeout: ({ context }) => context.handshakeTimeoutMs,
    heartbeatInterval: ({ context }) => context.heartbeatIntervalMs,
    silenceLimit: ({ context }) => context.silenceLimitMs,
  },
}).createMachine({
  id: 'serverConnection',
  context: ({ input }) => input,
  initial: 'handshaking',
  states: {
    handshaking: {
      on: { 'session.attached': 'open' },
      after: { handshakeTimeout: { target: 'closed', actions: 'closeForHandshakeTimeout' } },
    },
    open: {
      type: 'parallel',
      states: {
        heartbeat: {
          initial: 'waiting',
          states: {
            waiting: {
              after: {
                heartbeatInterval: { target: 'waiting', reenter: true, actions: 'sendPing' },
              },
            },
          },
        },
        watchdog: {
          initial: 'listening',
          states: {
            listening: {
              on: { 'client.activity': { target: 'listening', reenter: true } },
              after: {
                silenceLimit: {
                  target: '#serverConnection.closed',
                  actions: 'terminateSilentPeer',
                },
              },
            },
          },
        },
      },
    },
    // The end, but not `final`: the server stops this actor as soon as its socket is gone, and a
    // final child would send the root an `xstate.done.actor.<id>` event, a one-off event type that
    // XState caches in the root's transition memo for good (a leak of ~300 bytes per socket).
    closed: {},
  },
  on: { 'socket.closed': '.closed' },
});
