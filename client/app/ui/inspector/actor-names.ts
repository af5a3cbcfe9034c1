/** How the inspector names an actor: by what it is in Threadline, with a short id. */
import {
  type ActorStore,
  type ActorView,
  describeValue,
} from '../../model/inspector/actor-store.ts';

export function shortId(id: string): string {
  return id.length > 10 ? `${id.slice(0, 8)}…` : id;
}

function contextField(actor: ActorView, field: string): string | undefined {
  const context = actor.context;
  if (typeof context !== 'object' || context === null) return undefined;
  const value = (context as Record<string, unknown>)[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function actorName(actor: ActorView): string {
  switch (actor.chart) {
    case 'server-root':
      return 'server';
    case 'thermal-hysteresis':
      return 'thermal';
    case 'circuit-breaker':
      return 'breaker';
    case 'server-connection':
      return `connection ${shortId(actor.id)}`;
    case 'thread-lifecycle':
      return `session ${shortId(actor.id)}`;
    case 'cancellation': {
      const requestId = contextField(actor, 'requestId');
      return requestId ? `request ${shortId(requestId)}` : 'request';
    }
    case 'client-thread': {
      const threadId = contextField(actor, 'threadId');
      return threadId ? `thread ${shortId(threadId)}` : 'thread';
    }
    case 'connection':
      return 'connection';
    case 'reconnection-backoff':
      return 'backoff';
    case 'tabs':
      return 'tabs';
    case 'conversation': {
      const threadId = contextField(actor, 'threadId');
      return threadId ? `conversation ${shortId(threadId)}` : 'conversation';
    }
    default:
      return actor.id;
  }
}

/** The actor's current state in a line: its leaf states, or how it ended. */
export function actorSummary(actor: ActorView): string {
  const value = describeValue(actor.value);
  if (actor.ended) return `ended (${actor.status})${value ? ` in ${value}` : ''}`;
  if (value) return value;
  return actor.chart ? actor.status : `${actor.status} · no chart`;
}

/** A readable name for an event's sender. */
export function senderName(store: ActorStore, ref: string): string {
  const actor = store.actors[ref];
  return actor ? actorName(actor) : ref;
}
