/** Every chart by name: for the inspector, the diagram exporter and the model tests. */
import { cancellationMachine } from './cancellation.ts';
import { connectionMachine } from './connection.ts';
import { reconnectionBackoffMachine } from './reconnection-backoff.ts';
import { serverConnectionMachine } from './server-connection.ts';
import { serverRootMachine } from './server-root.ts';
import { threadLifecycleMachine } from './thread-lifecycle.ts';

export const machines = {
  connection: connectionMachine,
  'reconnection-backoff': reconnectionBackoffMachine,
  'thread-lifecycle': threadLifecycleMachine,
  cancellation: cancellationMachine,
  'server-connection': serverConnectionMachine,
  'server-root': serverRootMachine,
} as const;

export type MachineName = keyof typeof machines;

export * from './backoff-schedule.ts';
export * from './close-codes.ts';
export * from './protocol.ts';
export {
  cancellationMachine,
  connectionMachine,
  reconnectionBackoffMachine,
  serverConnectionMachine,
  serverRootMachine,
  threadLifecycleMachine,
};
