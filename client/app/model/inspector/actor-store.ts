/**
 * What the inspector knows about one actor system, folded from inspection messages (the
 * server's, from `/inspect`, or the page's own, made the same way by `page-feed.ts`): every
 * actor with its latest state, and for each a short log of the events it received, newest
 * first. Actors that ended stay listed for a while (greyed out), so a request's final state can
 * still be read after it is gone. Pure: messages in, a new store out.
 */
import type { ActorInfo, InspectorMessage } from '../../../../server/inspection/describe.ts';

export type { ActorInfo, InspectorMessage };

/** Events kept per actor. */
export const LOG_LIMIT = 60;
/** Ended actors kept listed; older ones are forgotten. */
export const ENDED_LIMIT = 24;

export interface LogEntry {
  /** Unique in the store, increasing: a React key and an order. */
  seq: number;
  /** When the page received it (ms since the epoch). */
  at: number;
  /** The event's type (`request.start`), or what happened (`created`, `ended`). */
  type: string;
  kind: 'event' | 'created' | 'ended';
  /** The sender's ref, when another actor sent it. */
  from?: string;
  /** The event's other fields, as short JSON. */
  payload?: string;
  /** The state it led to, when the state changed (`open.work.idle`). */
  to?: string;
}

export interface ActorView {
  ref: string;
  id: string;
  parent?: string;
  systemId?: string;
  /** The chart's name, for machine actors whose chart is known. */
  chart?: string;
  /** `active`, `done`, `stopped` or `error`. */
  status: string;
  value?: unknown;
  context?: unknown;
  ended: boolean;
  log: LogEntry[];
}

export interface ActorStore {
  root: string | null;
  actors: Record<string, ActorView>;
  /** Refs of ended actors, oldest first. */
  ended: string[];
  seq: number;
  /** Messages the server skipped because the page read too slowly. */
  dropped: number;
}

export const emptyStore: ActorStore = { root: null, actors: {}, ended: [], seq: 0, dropped: 0 };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The leaf states of a state value, dotted: `open.link.attached`, `open.work.streaming`. */
export function leafStates(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix ? `${prefix}.${value}` : value];
  if (!isRecord(value)) return [];
  return Object.entries(value).flatMap(([key, child]) =>
    leafStates(child, prefix ? `${prefix}.${key}` : key),
  );
}

/** Every active state of a state value, ancestors included (`open`, `open.work`, …). */
export function activeStates(value: unknown): Set<string> {
  const out = new Set<string>();
  for (const leaf of leafStates(value)) {
    const parts = leaf.split('.');
    for (let end = 1; end <= parts.length; end++) out.add(parts.slice(0, end).join('.'));
  }
  return out;
}

export function describeValue(value: unknown): string {
  const leaves = leafStates(value);
  return leaves.length > 0 ? leaves.join(', ') : '';
}

function payloadOf(event: unknown): string | undefined {
  if (!isRecord(event)) return undefined;
  const { type: _type, ...rest } = event;
  if (Object.keys(rest).length === 0) return undefined;
  const text = JSON.stringify(rest);
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}

function fromInfo(info: ActorInfo): ActorView {
  const view: ActorView = {
    ref: info.ref,
    id: info.id,
    status: info.status ?? 'active',
    ended: info.status !== undefined && info.status !== 'active',
    log: [],
  };
  if (info.parent !== undefined) view.parent = info.parent;
  if (info.systemId !== undefined) view.systemId = info.systemId;
  if (info.machine !== undefined) view.chart = info.machine;
  if (info.value !== undefined) view.value = info.value;
  if (info.context !== undefined) view.context = info.context;
  return view;
}

/** Folds messages into a copy of `store` (copy on write: untouched actors are shared). */
export function applyMessages(
  store: ActorStore,
  messages: readonly InspectorMessage[],
  at = 0,
): ActorStore {
  let next: ActorStore = { ...store, actors: { ...store.actors }, ended: [...store.ended] };
  const copied = new Set<string>();
  const edit = (ref: string): ActorView | undefined => {
    const actor = next.actors[ref];
    if (!actor || copied.has(ref)) return actor;
    const copy = { ...actor, log: [...actor.log] };
    next.actors[ref] = copy;
    copied.add(ref);
    return copy;
  };
  const log = (actor: ActorView, entry: Omit<LogEntry, 'seq' | 'at'>) => {
    next.seq += 1;
    actor.log.unshift({ seq: next.seq, at, ...entry });
    if (actor.log.length > LOG_LIMIT) actor.log.length = LOG_LIMIT;
  };
  const end = (actor: ActorView) => {
    if (actor.ended) return;
    actor.ended = true;
    next.ended.push(actor.ref);
    // Children end with their parent, whether or not their own message says so.
    for (const child of Object.values(next.actors)) {
      if (child.parent === actor.ref && !child.ended) {
        const copy = edit(child.ref);
        if (copy) {
          if (copy.status === 'active') copy.status = 'stopped';
          end(copy);
        }
      }
    }
  };

  for (const message of messages) {
    switch (message.type) {
      case 'hello': {
        const actors: Record<string, ActorView> = {};
        for (const info of message.actors) actors[info.ref] = fromInfo(info);
        next = { root: message.root, actors, ended: [], seq: next.seq, dropped: 0 };
        copied.clear();
        for (const ref of Object.keys(actors)) copied.add(ref);
        break;
      }
      case 'actor': {
        const existing = next.actors[message.actor.ref];
        const view = { ...fromInfo(message.actor), ...(existing ? { log: existing.log } : {}) };
        next.actors[view.ref] = view;
        copied.add(view.ref);
        log(view, { type: 'created', kind: 'created' });
        break;
      }
      case 'event': {
        const actor = edit(message.ref);
        if (!actor) break;
        const event = isRecord(message.event) ? message.event : {};
        const payload = payloadOf(event);
        log(actor, {
          type: typeof event.type === 'string' ? event.type : '(event)',
          kind: 'event',
          ...(message.source && message.source !== message.ref ? { from: message.source } : {}),
          ...(payload ? { payload } : {}),
        });
        break;
      }
      case 'snapshot': {
        const actor = edit(message.ref);
        if (!actor) break;
        const before = describeValue(actor.value);
        if (message.value !== undefined) actor.value = message.value;
        if (message.context !== undefined) actor.context = message.context;
        if (message.status !== undefined) actor.status = message.status;
        const after = describeValue(actor.value);
        if (after !== '' && after !== before) {
          // The state an event led to goes beside that event in the log.
          const latest = actor.log[0];
          if (latest?.kind === 'event' && latest.type === message.event && !latest.to) {
            actor.log[0] = { ...latest, to: after };
          } else {
            log(actor, { type: message.event, kind: 'event', to: after });
          }
        }
        if (actor.status !== 'active') {
          log(actor, { type: actor.status, kind: 'ended' });
          end(actor);
        }
        break;
      }
      case 'dropped':
        next.dropped += message.count;
        break;
    }
  }

  // Forget the oldest ended actors beyond the limit.
  while (next.ended.length > ENDED_LIMIT) {
    const ref = next.ended.shift();
    if (ref !== undefined) delete next.actors[ref];
  }
  return next;
}

/** The actors under `parent` (or the roots, for undefined), in the order they were created. */
export function childrenOf(store: ActorStore, parent: string | undefined): ActorView[] {
  return Object.values(store.actors).filter((actor) =>
    parent === undefined ? !actor.parent || !store.actors[actor.parent] : actor.parent === parent,
  );
}
