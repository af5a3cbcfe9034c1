/**
 * The server's scheduler index (server/delayed-event-index.ts) must keep XState's meaning of
 * delayed events exactly: a stopped actor's pending events never arrive, everyone else's still do,
 * a cancelled one never fires, and an actor that keeps scheduling fresh ids is still stopped clean.
 */

import { describe, expect, it } from 'vitest';
import {
  type AnyActorRef,
  assign,
  cancel,
  createActor,
  raise,
  SimulatedClock,
  setup,
  spawnChild,
  stopChild,
} from 'xstate';
import { indexDelayedEventsBySource } from '../../server/delayed-event-index.ts';

const alarm = setup({}).createMachine({
  initial: 'waiting',
  states: { waiting: { after: { 1000: 'rang' } }, rang: {} },
});

/** Raises `tick` to itself every 10 ms, each with a fresh random id, and counts them. */
const ticker = setup({ types: { context: {} as { ticks: number } } }).createMachine({
  context: { ticks: 0 },
  entry: raise({ type: 'tick' }, { delay: 10 }),
  on: {
    tick: {
      actions: [
        assign({ ticks: ({ context }) => context.ticks + 1 }),
        raise({ type: 'tick' }, { delay: 10 }),
      ],
    },
  },
});

const parent = setup({
  types: {
    context: {} as { rings: number },
    events: {} as { type: 'stop'; id: string } | { type: 'ring' } | { type: 'hush' },
  },
  actors: { alarm, ticker },
}).createMachine({
  context: { rings: 0 },
  entry: [
    spawnChild('alarm', { id: 'first' }),
    spawnChild('alarm', { id: 'second' }),
    spawnChild('ticker', { id: 'ticker' }),
    raise({ type: 'ring' }, { id: 'ring', delay: 500 }),
  ],
  on: {
    stop: { actions: stopChild(({ event }) => event.id) },
    ring: { actions: assign({ rings: ({ context }) => context.rings + 1 }) },
    hush: { actions: cancel('ring') },
  },
});

function start() {
  const clock = new SimulatedClock();
  const root = createActor(parent, { clock });
  indexDelayedEventsBySource(root.system);
  root.start();
  const child = (id: string) => root.getSnapshot().children[id] as AnyActorRef;
  const pendingOf = (actor: AnyActorRef) =>
    Object.values(root.system.getSnapshot()._scheduledEvents).filter(
      (scheduled) => scheduled.source === actor,
    ).length;
  return { clock, root, child, pendingOf };
}

describe('delayed events indexed by the actor that scheduled them', () => {
  it("cancels a stopped actor's pending events and no one else's", () => {
    const { clock, root, child, pendingOf } = start();
    const first = child('first');
    const second = child('second');
    expect(pendingOf(first)).toBe(1);

    root.send({ type: 'stop', id: 'first' });
    expect(pendingOf(first)).toBe(0);
    expect(pendingOf(second)).toBe(1);

    clock.increment(1000);
    expect(second.getSnapshot().value).toBe('rang');
    expect(first.getSnapshot().status).toBe('stopped');
    expect(first.getSnapshot().value).toBe('waiting');
    root.stop();
  });

  it('stops an actor that scheduled hundreds of fresh ids, whenever it stops, leaving nothing pending', () => {
    // Stopped after every number of ticks up to 200, so across every point where the index
    // forgets the ids that already fired.
    for (let ticks = 1; ticks <= 200; ticks++) {
      const { clock, root, child, pendingOf } = start();
      const ticker = child('ticker');
      for (let step = 0; step < ticks; step++) clock.increment(10);
      expect(ticker.getSnapshot().context.ticks).toBe(ticks);
      expect(pendingOf(ticker)).toBe(1);

      root.send({ type: 'stop', id: 'ticker' });
      expect(pendingOf(ticker)).toBe(0);
      clock.increment(100);
      expect(ticker.getSnapshot().context.ticks).toBe(ticks);
      root.stop();
    }
  });

  it('still cancels one delayed event by its id, and stops the root with nothing pending', () => {
    const { clock, root, pendingOf } = start();
    expect(pendingOf(root)).toBe(1);
    clock.increment(400);
    root.send({ type: 'hush' });
    expect(pendingOf(root)).toBe(0);
    clock.increment(1000);
    expect(root.getSnapshot().context.rings).toBe(0);
    root.stop();
    expect(Object.keys(root.system.getSnapshot()._scheduledEvents)).toEqual([]);
  });
});
