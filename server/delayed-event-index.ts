/**
 * Makes stopping an actor cost its own delayed events, not the whole system's. XState's
 * scheduler finds a stopping actor's delayed events by scanning every delayed event in the system
 * (a `for…in` over one object). With 10,000 idle sessions each holding a TTL timer, every socket
 * or session that stopped scanned all of them: 14 % of the server's CPU in the idle-session bench.
 *
 * This wraps the system's scheduler (`system.scheduler`, part of XState's `ActorSystem` type):
 * it records which events each actor scheduled, and `cancelAll` cancels exactly those through
 * the scheduler's own `cancel`. Scheduling, firing and cancelling are otherwise XState's own.
 */
import type { ActorSystem, AnyActorRef } from 'xstate';

/** Past this many ids recorded for one actor, the ones that already fired are forgotten. */
const PRUNE_AT = 64;

// biome-ignore lint/suspicious/noExplicitAny: any system, whatever its actors
export function indexDelayedEventsBySource(system: ActorSystem<any>): void {
  const scheduler = system.scheduler;
  const schedule = scheduler.schedule;
  const cancel = scheduler.cancel;
  const bySource = new WeakMap<AnyActorRef, Set<string>>();

  scheduler.schedule = (source, target, event, delay, id) => {
    // XState makes up a random id when none is given; make it here so it can be recorded.
    const eventId = id ?? Math.random().toString(36).slice(2);
    schedule(source, target, event, delay, eventId);
    let ids = bySource.get(source);
    if (!ids) {
      ids = new Set();
      bySource.set(source, ids);
    }
    ids.add(eventId);
    // A fired event stays recorded (firing is XState's); an `after` reuses its id, so only an
    // actor sending many delayed events with fresh ids grows this, and it is trimmed here.
    if (ids.size > PRUNE_AT) forgetFired(source, ids);
  };
  scheduler.cancel = (source, id) => {
    cancel(source, id);
    bySource.get(source)?.delete(id);
  };
  scheduler.cancelAll = (source) => {
    const ids = bySource.get(source);
    if (!ids) return;
    bySource.delete(source);
    for (const id of ids) cancel(source, id);
  };

  function forgetFired(source: AnyActorRef, ids: Set<string>) {
    const pending = new Set<string>();
    for (const scheduled of Object.values(system.getSnapshot()._scheduledEvents)) {
      if (scheduled.source === source) pending.add(scheduled.id);
    }
    for (const id of ids) if (!pending.has(id)) ids.delete(id);
  }
}
