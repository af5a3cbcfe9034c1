/**
 * The root of the server's actor system: every socket and every session runs as a child of it,
 * so stopping the root stops everything, and the inspector sees one tree.
 */
import { assertEvent, setup, spawnChild, stopChild } from 'xstate';
import { type ServerConnectionInput, serverConnectionMachine } from './server-connection.ts';
import { type ThreadLifecycleInput, threadLifecycleMachine } from './thread-lifecycle.ts';

export type ServerRootEvent =
  | { type: 'connection.opened'; input: ServerConnectionInput }
  | { type: 'connection.ended'; connectionId: string }
  | { type: 'session.opened'; input: ThreadLifecycleInput }
  | { type: 'session.ended'; sessionId: string }
  | { type: 'server.stop' };

export const serverRootMachine = setup({
  types: { events: {} as ServerRootEvent },
  actors: { connection: serverConnectionMachine, session: threadLifecycleMachine },
}).createMachine({
  id: 'server',
  initial: 'serving',
  states: {
    serving: {
      on: {
        'connection.opened': {
          actions: spawnChild('connection', {
            id: ({ event }) => {
              assertEvent(event, 'connection.opened');
              return event.input.connectionId;
            },
            input: ({ event }) => {
              assertEvent(event, 'connection.opened');
              return event.input;
            },
          }),
        },
        'session.opened': {
          actions: spawnChild('session', {
            id: ({ event }) => {
              assertEvent(event, 'session.opened');
              return event.input.sessionId;
            },
            input: ({ event }) => {
              assertEvent(event, 'session.opened');
              return event.input;
            },
          }),
        },
        'server.stop': 'stopped',
      },
    },
    stopped: { type: 'final' },
  },
  on: {
    'connection.ended': {
      actions: stopChild(({ event }) => {
        assertEvent(event, 'connection.ended');
        return event.connectionId;
      }),
    },
    'session.ended': {
      actions: stopChild(({ event }) => {
        assertEvent(event, 'session.ended');
        return event.sessionId;
      }),
    },
  },
});
