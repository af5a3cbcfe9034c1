/**
 * The root of the server's actor system: every socket and every session runs as a child of it,
 * so stopping the root stops everything, and the inspector sees one tree. It also owns graceful
 * shutdown: draining stops admitting work and lets streams finish for `drainTimeout`, then the
 * rest are cancelled, then every socket is closed with 1001 and everything stops.
 */
import { assertEvent, setup, spawnChild, stopChild } from 'xstate';
import { type CircuitBreakerInput, circuitBreakerMachine } from './circuit-breaker.ts';
import { type ServerConnectionInput, serverConnectionMachine } from './server-connection.ts';
import { type ThermalHysteresisInput, thermalHysteresisMachine } from './thermal-hysteresis.ts';
import { type ThreadLifecycleInput, threadLifecycleMachine } from './thread-lifecycle.ts';

export type ServerRootEvent =
  | { type: 'connection.opened'; input: ServerConnectionInput }
  | { type: 'connection.ended'; connectionId: string }
  | { type: 'session.opened'; input: ThreadLifecycleInput }
  | { type: 'session.ended'; sessionId: string }
  /** Graceful shutdown (SIGTERM, SIGINT). */
  | { type: 'server.drain' }
  /** No request is streaming any more (sent by the server while draining). */
  | { type: 'streams.idle' }
  /** Stop at once, without draining. */
  | { type: 'server.stop' };

/** The server-wide charts' inputs, from the configuration. */
export interface ServerRootInput {
  thermal: ThermalHysteresisInput;
  breaker: CircuitBreakerInput;
  /** How long streams in flight may run on after a drain begins. */
  drainTimeoutMs: number;
  /** After cancelling the rest, how long to wait for their final frames. */
  cancelGraceMs: number;
}

export const serverRootMachine = setup({
  types: {
    events: {} as ServerRootEvent,
    input: {} as ServerRootInput,
    context: {} as ServerRootInput,
  },
  actors: {
    connection: serverConnectionMachine,
    session: threadLifecycleMachine,
    thermal: thermalHysteresisMachine,
    breaker: circuitBreakerMachine,
  },
  actions: {
    spawnConnection: spawnChild('connection', {
      id: ({ event }) => {
        assertEvent(event, 'connection.opened');
        return event.input.connectionId;
      },
      input: ({ event }) => {
        assertEvent(event, 'connection.opened');
        return event.input;
      },
    }),
    spawnSession: spawnChild('session', {
      id: ({ event }) => {
        assertEvent(event, 'session.opened');
        return event.input.sessionId;
      },
      input: ({ event }) => {
        assertEvent(event, 'session.opened');
        return event.input;
      },
    }),
    stopConnection: stopChild(({ event }) => {
      assertEvent(event, 'connection.ended');
      return event.connectionId;
    }),
    stopSession: stopChild(({ event }) => {
      assertEvent(event, 'session.ended');
      return event.sessionId;
    }),
    /** Provided by the server: refuse new sockets and requests, tell clients, check for idle. */
    stopAdmitting: () => {},
    /** Provided by the server: cancel every request still streaming. */
    cancelStreams: () => {},
    /** Provided by the server: close every socket with 1001. */
    closeSockets: () => {},
    /** Provided by the server: log what the drain did. */
    reportDrained: () => {},
  },
  delays: {
    drainTimeout: ({ context }) => context.drainTimeoutMs,
    cancelGrace: ({ context }) => context.cancelGraceMs,
  },
}).createMachine({
  id: 'server',
  context: ({ input }) => input,
  // Server-wide protection lives as long as the root: the thermal level and the upstream breaker.
  invoke: [
    { id: 'thermal', systemId: 'thermal', src: 'thermal', input: ({ context }) => context.thermal },
    { id: 'breaker', systemId: 'breaker', src: 'breaker', input: ({ context }) => context.breaker },
  ],
  initial: 'serving',
  states: {
    serving: {
      on: {
        'server.drain': 'draining',
        'server.stop': 'stopped',
      },
    },
    draining: {
      entry: 'stopAdmitting',
      on: { 'streams.idle': 'closing' },
      after: { drainTimeout: 'cancelling' },
    },
    cancelling: {
      entry: 'cancelStreams',
      on: { 'streams.idle': 'closing' },
      after: { cancelGrace: 'closing' },
    },
    closing: {
      entry: ['closeSockets', 'reportDrained'],
      always: 'stopped',
    },
    stopped: { type: 'final' },
  },
  on: {
    'connection.opened': { actions: 'spawnConnection' },
    'session.opened': { actions: 'spawnSession' },
    'connection.ended': { actions: 'stopConnection' },
    'session.ended': { actions: 'stopSession' },
  },
});
