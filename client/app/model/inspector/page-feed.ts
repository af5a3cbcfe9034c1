/**
 * The page's own actors as inspection messages, in the server's format (`hello`, `actor`,
 * `snapshot`, `event`), so one store and one view serve both. Each of the page's actor systems
 * (the tabs chart, and per thread its client's system and its conversation) is tapped with
 * `system.inspect` only while the inspector is open. Refs are prefixed per system (`p2/x:1`):
 * XState numbers actors per system, so bare refs would collide.
 */
import {
  Actor,
  type ActorRefLike,
  type AnyActorRef,
  type InspectionEvent,
  StateMachine,
  type Subscription,
} from 'xstate';
import {
  type SnapshotLike,
  small,
  snapshotFields,
  snapshotOf,
} from '../../../../server/inspection/describe.ts';
import type { PageActors } from '../page.ts';
import type { ActorInfo, InspectorMessage } from './actor-store.ts';
import { chartNameById } from './charts.ts';

export interface PageFeedOptions {
  /** The page's actors now (threads come and go). */
  actors: () => PageActors | null;
  /** Receives messages in batches. */
  onMessages: (messages: InspectorMessage[]) => void;
  /** How long messages are gathered before a batch is handed over. */
  batchMs?: number;
}

/** Watches the page's systems until the returned function is called. */
export function watchPage(options: PageFeedOptions): () => void {
  const batchMs = options.batchMs ?? 50;
  const keys = new WeakMap<object, string>();
  const watched = new Map<AnyActorRef, { key: string; subscription: Subscription }>();
  let nextKey = 0;
  let pending: InspectorMessage[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;

  const flush = () => {
    timer = null;
    if (stopped || pending.length === 0) return;
    const batch = pending;
    pending = [];
    options.onMessages(batch);
  };
  const emit = (message: InspectorMessage) => {
    pending.push(message);
    timer ??= setTimeout(flush, batchMs);
  };

  const refOf = (actor: ActorRefLike) =>
    `${(actor instanceof Actor && keys.get(actor.system)) || '?'}/${actor.sessionId}`;

  const describe = (actor: ActorRefLike, withSnapshot: boolean): ActorInfo => {
    const info: ActorInfo = { ref: refOf(actor), id: actor.sessionId };
    if (actor instanceof Actor) {
      info.id = actor.id;
      if (typeof actor.systemId === 'string') info.systemId = actor.systemId;
      if (actor._parent) info.parent = refOf(actor._parent);
      const logic: unknown = actor.logic;
      const chart = logic instanceof StateMachine ? chartNameById.get(logic.id) : undefined;
      if (chart) info.machine = chart;
    }
    return withSnapshot ? { ...info, ...snapshotFields(snapshotOf(actor)) } : info;
  };

  const tree = (root: AnyActorRef): ActorInfo[] => {
    const out: ActorInfo[] = [];
    const visit = (actor: ActorRefLike) => {
      out.push(describe(actor, true));
      const children = snapshotOf(actor)?.children;
      if (typeof children !== 'object' || children === null) return;
      for (const child of Object.values(children)) if (child instanceof Actor) visit(child);
    };
    visit(root);
    return out;
  };

  const toMessage = (event: InspectionEvent): InspectorMessage | null => {
    switch (event.type) {
      case '@xstate.actor':
        return { type: 'actor', actor: describe(event.actorRef, false) };
      case '@xstate.snapshot':
        return {
          type: 'snapshot',
          ref: refOf(event.actorRef),
          event: event.event.type,
          ...snapshotFields(event.snapshot as SnapshotLike),
        };
      case '@xstate.event':
        return {
          type: 'event',
          ref: refOf(event.actorRef),
          source: event.sourceRef ? refOf(event.sourceRef) : null,
          event: small(event.event, 3) ?? { type: event.event.type },
        };
      default:
        return null;
    }
  };

  const roots = (): AnyActorRef[] => {
    const actors = options.actors();
    if (!actors) return [];
    return [
      actors.tabs,
      ...actors.threads.flatMap((thread) => [thread.thread, thread.conversation]),
    ];
  };

  const watch = (root: AnyActorRef): ActorInfo[] => {
    const key = keys.get(root.system) ?? `p${nextKey++}`;
    keys.set(root.system, key);
    const subscription = root.system.inspect((event: InspectionEvent) => {
      const message = toMessage(event);
      if (message) emit(message);
    });
    watched.set(root, { key, subscription });
    return tree(root);
  };

  /** Taps new systems and lets go of gone ones (their actors are reported stopped). */
  const sync = () => {
    if (stopped) return;
    const now = new Set(roots());
    for (const [root, { subscription }] of watched) {
      if (now.has(root)) continue;
      subscription.unsubscribe();
      watched.delete(root);
      emit({ type: 'snapshot', ref: refOf(root), event: 'xstate.stop', status: 'stopped' });
    }
    for (const root of now) {
      if (watched.has(root)) continue;
      for (const actor of watch(root)) emit({ type: 'actor', actor });
    }
  };

  // The first batch says everything there is, as the server's hello does.
  const initial = roots().flatMap(watch);
  emit({ type: 'hello', version: 1, root: '', charts: {}, actors: initial });

  // A thread opened or closed: the tabs chart changes first, the page's list right after.
  const tabs = options.actors()?.tabs;
  const tabsSubscription = tabs?.subscribe({
    next: () => queueMicrotask(sync),
    error: () => {},
  });

  return () => {
    stopped = true;
    tabsSubscription?.unsubscribe();
    for (const { subscription } of watched.values()) subscription.unsubscribe();
    watched.clear();
    if (timer !== null) clearTimeout(timer);
    timer = null;
    pending = [];
  };
}
