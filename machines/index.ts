/** Every chart by name: for the inspector, the diagram exporter and the model tests. */
import { cancellationMachine } from './cancellation.ts';
import { circuitBreakerMachine } from './circuit-breaker.ts';
import { clientThreadMachine } from './client-thread.ts';
import { connectionMachine } from './connection.ts';
import { reconnectionBackoffMachine } from './reconnection-backoff.ts';
import { serverConnectionMachine } from './server-connection.ts';
import { serverRootMachine } from './server-root.ts';
import { thermalHysteresisMachine } from './thermal-hysteresis.ts';
import { threadLifecycleMachine } from './thread-lifecycle.ts';

export const machines = {
  connection: connectionMachine,
  'reconnection-backoff': reconnectionBackoffMachine,
  'thread-lifecycle': threadLifecycleMachine,
  cancellation: cancellationMachine,
  'client-thread': clientThreadMachine,
  'server-connection': serverConnectionMachine,
  'server-root': serverRootMachine,
  'thermal-hysteresis': thermalHysteresisMachine,
  'circuit-breaker': circuitBreakerMachine,
} as const;

export type MachineName = keyof typeof machines;

export * from './backoff-schedule.ts';
export * from './close-codes.ts';
export * from './protocol.ts';
export {
  cancellationMachine,
  circuitBreakerMachine,
  clientThreadMachine,
  connectionMachine,
  reconnectionBackoffMachine,
  serverConnectionMachine,
  serverRootMachine,
  thermalHysteresisMachine,
  threadLifecycleMachine,
};
