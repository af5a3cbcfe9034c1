/**
 * Turns XState inspection events into the small JSON messages the inspector page reads. Values
 * are cut down on the way: only plain data (strings, numbers, booleans, plain objects, a few
 * levels deep), never functions, sockets, actor references or class instances; arrays are
 * summarised by length; long strings are cut.
 *
 * Messages (one JSON object per WebSocket message):
 * - `{ type: 'hello', version: 1, root, charts, actors }` — sent first: the root actor's ref,
 *   the chart name of each machine id, and every live actor.
 * - `{ type: 'actor', actor }` — an actor was created (its state follows in a `snapshot`).
 * - `{ type: 'snapshot', ref, event, status, value?, context?, systemId? }` — an actor's
 *   snapshot after an event (`status` `stopped` or `done` means it is gone).
 * - `{ type: 'event', ref, source, event }` — an event sent to an actor (`source` may be null).
 * - `{ type: 'dropped', count }` — messages skipped because the page read too slowly.
 */
import {
  Actor,
  type ActorRefLike,
  type AnyActorRef,
  type InspectionEvent,
  StateMachine,
} from 'xstate';
import { machines } from '../../machines/index.ts';
import { serverShardMachine } from '../../machines/server-shard.ts';

export const INSPECTOR_PROTOCOL_VERSION = 1;

/** Chart name (as in `machines/index.ts`) by machine id (`threadLifecycle` → `thread-lifecycle`). */
export const chartNames: ReadonlyMap<string, string> = new Map(
  Object.entries(machines).map(([name, machine]) => [machine.id, name]),
);

export interface ActorInfo {
  /** Unique in the system (XState's `sessionId`, e.g. `x:3`). */
  ref: string;
  /** The actor's id under its parent (for Threadline's sessions and connections, their ids). */
  id: string;
  systemId?: string;
  /** The parent's `ref`; absent for the root. */
  parent?: string;
  /** The chart this actor runs, when it is one of `machines`. */
  machine?: string;
  status?: string;
  value?: unknown;
  context?: unknown;
}

export type InspectorMessage =
  | {
      type: 'hello';
      version: number;
      root: string;
      charts: Record<string, string>;
      actors: ActorInfo[];
    }
  | { type: 'actor'; actor: ActorInfo }
  | {
      type: 'snapshot';
      ref: string;
      event: string;
      status?: string;
      value?: unknown;
      context?: unknown;
      systemId?: string;
    }
  | { type: 'event'; ref: string; source: string | null; event: unknown }
  | { type: 'dropped'; count: number };

const MAX_KEYS = 24;
const MAX_STRING = 160;

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A copy of `value` with only small plain data in it; undefined when nothing is left. */
export function small(value: unknown, depth = 3): unknown {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string') {
    return value.length > MAX_STRING
      ? `${value.slice(0, MAX_STRING)}… (${value.length} chars)`
      : value;
  }
  if (typeof value !== 'object' || depth <= 0) return undefined;
  if (Array.isArray(value)) return `[${value.length} items]`;
  if (!isPlainObject(value)) return undefined;
  const out: Record<string, unknown> = {};
  let kept = 0;
  for (const [key, field] of Object.entries(value)) {
    if (kept === MAX_KEYS) {
      out['…'] = 'more keys left out';
      break;
    }
    const copy = small(field, depth - 1);
    if (copy === undefined) continue;
    out[key] = copy;
    kept++;
  }
  return out;
}

export interface SnapshotLike {
  status?: unknown;
  value?: unknown;
  context?: unknown;
  children?: unknown;
}

export function snapshotOf(actor: ActorRefLike): SnapshotLike | undefined {
  // An actor is announced before its first snapshot exists.
  const snapshot: unknown = actor.getSnapshot();
  return typeof snapshot === 'object' && snapshot !== null ? (snapshot as SnapshotLike) : undefined;
}

/** What a snapshot says that the page draws from: status, state value, small context. */
export function snapshotFields(snapshot: SnapshotLike | undefined): Partial<ActorInfo> {
  if (!snapshot) return {};
  const fields: Partial<ActorInfo> = {};
  if (typeof snapshot.status === 'string') fields.status = snapshot.status;
  if (snapshot.value !== undefined) fields.value = small(snapshot.value, 8);
  const context = small(snapshot.context, 2);
  if (context !== undefined) fields.context = context;
  return fields;
}

/**
 * Whether `actor` is one of the root's shards (machines/server-shard.ts): bookkeeping the page
 * does not draw. Their children are shown as the root's, as if the shards were not there.
 */
function isShard(actor: ActorRefLike | undefined): boolean {
  if (!(actor instanceof Actor)) return false;
  const logic: unknown = actor.logic;
  return logic instanceof StateMachine && logic.id === serverShardMachine.id;
}

export function machineName(actor: ActorRefLike): string | undefined {
  if (!(actor instanceof Actor)) return undefined;
  const logic: unknown = actor.logic;
  return logic instanceof StateMachine ? chartNames.get(logic.id) : undefined;
}

/**
 * An actor's identity and, unless it is being announced (`@xstate.actor` comes before its first
 * snapshot exists, and reading it then throws in XState's development build), its snapshot.
 */
export function describeActor(actor: ActorRefLike, withSnapshot = true): ActorInfo {
  const info: ActorInfo = { ref: actor.sessionId, id: actor.sessionId };
  if (actor instanceof Actor) {
    const ref: AnyActorRef = actor;
    info.id = ref.id;
    const systemId: unknown = actor.systemId;
    if (typeof systemId === 'string') info.systemId = systemId;
    const parent = isShard(ref._parent) ? ref._parent?._parent : ref._parent;
    if (parent) info.parent = parent.sessionId;
    const machine = machineName(actor);
    if (machine) info.machine = machine;
  }
  return withSnapshot ? { ...info, ...snapshotFields(snapshotOf(actor)) } : info;
}

/** The live actors under `root`, parents before children (what a page needs on connect). */
export function liveActors(root: AnyActorRef): ActorInfo[] {
  const out: ActorInfo[] = [];
  const visit = (actor: AnyActorRef) => {
    if (!isShard(actor)) out.push(describeActor(actor));
    const snapshot = snapshotOf(actor);
    const children: unknown =
      snapshot && 'children' in snapshot ? (snapshot as { children: unknown }).children : undefined;
    if (typeof children !== 'object' || children === null) return;
    for (const child of Object.values(children)) {
      if (child instanceof Actor) visit(child);
    }
  };
  visit(root);
  return out;
}

export function helloMessage(root: AnyActorRef): InspectorMessage {
  return {
    type: 'hello',
    version: INSPECTOR_PROTOCOL_VERSION,
    root: root.sessionId,
    charts: Object.fromEntries(chartNames),
    actors: liveActors(root),
  };
}

/** The page's message for one inspection event, or null for kinds the page does not use. */
export function toMessage(event: InspectionEvent): InspectorMessage | null {
  if (isShard(event.actorRef)) return null;
  switch (event.type) {
    case '@xstate.actor':
      return { type: 'actor', actor: describeActor(event.actorRef, false) };
    case '@xstate.snapshot': {
      const message: InspectorMessage = {
        type: 'snapshot',
        ref: event.actorRef.sessionId,
        event: event.event.type,
        ...snapshotFields(event.snapshot as SnapshotLike),
      };
      if (event.actorRef instanceof Actor && typeof event.actorRef.systemId === 'string') {
        message.systemId = event.actorRef.systemId;
      }
      return message;
    }
    case '@xstate.event':
      return {
        type: 'event',
        ref: event.actorRef.sessionId,
        source: event.sourceRef?.sessionId ?? null,
        event: small(event.event, 3) ?? { type: event.event.type },
      };
    default:
      return null;
  }
}
