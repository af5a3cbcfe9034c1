/**
 * The root of the server's actor system: every socket and every session runs under it (in one of
 * its shards, see server-shard.ts), so stopping the root stops everything, and the inspector sees
 * one tree. It also owns graceful shutdown: draining stops admitting work and lets streams finish
 * for `drainTimeout`, then the rest are cancelled, then every socket is closed with 1001 and
 * everything stops.
 */
import { assertEvent, enqueueActions, setup } from 'xstate';
import { type CircuitBreakerInput, circuitBreakerMachine } from './circuit-breaker.ts';
import {
  memberIdOf,
  type ServerShardEvent,
  serverShardMachine,
  shardIdFor,
} from './server-shard.ts';
import { type ThermalHysteresisInput, thermalHysteresisMachine } from './thermal-hysteresis.ts';

export type ServerRootEvent =
  | ServerShardEvent
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
    shard: serverShardMachine,
    thermal: thermalHysteresisMachine,
    breaker: circuitBreakerMachine,
  },
  actions: {
    /**
     * To the shard that holds (or will hold) the connection or session the event names; a shard
     * is spawned the first time one of its ids comes, and lives as long as the root.
     */
    forwardToShard: enqueueActions(({ event, self, enqueue }) => {
      assertEvent(event, [
        'connection.opened',
        'session.opened',
        'connection.ended',
        'session.ended',
      ]);
      const shard = shardIdFor(memberIdOf(event));
      if (!self.getSnapshot().children[shard]) enqueue.spawnChild('shard', { id: shard });
      enqueue.sendTo(shard, event);
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
    'connection.opened': { actions: 'forwardToShard' },
    'session.opened': { actions: 'forwardToShard' },
    'connection.ended': { actions: 'forwardToShard' },
    'session.ended': { actions: 'forwardToShard' },
  },
});
