/**
 * One shard of the server's per-socket and per-session actors. XState copies a parent's
 * `children` on every spawn and every stop, so with every socket and session a child of the root
 * each open and close cost O(all of them) (12 ms a handshake at 3,000 sessions). The root keeps
 * them in `SHARD_COUNT` shards instead, each actor in the shard its id hashes to: the tree is
 * still one system under the root, and stopping the root still stops everything.
 */
import { assertEvent, setup, spawnChild, stopChild } from 'xstate';
import { type ServerConnectionInput, serverConnectionMachine } from './server-connection.ts';
import { type ThreadLifecycleInput, threadLifecycleMachine } from './thread-lifecycle.ts';

/**
 * Enough that a shard holds under a hundred actors at 10,000 sessions (a stop at 300 cost
 * 0.4 ms); the root spawns a shard only when the first of its ids comes.
 */
export const SHARD_COUNT = 256;

export type ServerShardEvent =
  | { type: 'connection.opened'; input: ServerConnectionInput }
  | { type: 'connection.ended'; connectionId: string }
  | { type: 'session.opened'; input: ThreadLifecycleInput }
  | { type: 'session.ended'; sessionId: string };

/** The id of the shard that holds the actor `actorId` (FNV-1a over its UTF-16 code units). */
export function shardIdFor(actorId: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < actorId.length; index++) {
    hash ^= actorId.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return shardId((hash >>> 0) % SHARD_COUNT);
}

export function shardId(index: number): string {
  return `shard-${index}`;
}

/** The connection or session an event is about. */
export function memberIdOf(event: ServerShardEvent): string {
  switch (event.type) {
    case 'connection.opened':
      return event.input.connectionId;
    case 'session.opened':
      return event.input.sessionId;
    case 'connection.ended':
      return event.connectionId;
    case 'session.ended':
      return event.sessionId;
  }
}

/** Whether an actor id names a shard rather than a connection or session. */
export function isShardId(actorId: string): boolean {
  return /^shard-\d+$/.test(actorId);
}

export const serverShardMachine = setup({
  types: { events: {} as ServerShardEvent },
  actors: {
    connection: serverConnectionMachine,
    session: threadLifecycleMachine,
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
  },
}).createMachine({
  id: 'serverShard',
  on: {
    'connection.opened': { actions: 'spawnConnection' },
    'session.opened': { actions: 'spawnSession' },
    'connection.ended': { actions: 'stopConnection' },
    'session.ended': { actions: 'stopSession' },
  },
});
