/**
 * The dashboard's and the inspector's models without a browser: every chart turned into a
 * drawing (each state a box inside its parent's, each transition an arrow with its event) and
 * laid out by ELK; inspection messages folded into the actor store; health reports turned into
 * samples and indicators; and the two pages' charts driven on a simulated clock.
 */
import elkjs from 'elkjs';
import { describe, expect, it } from 'vitest';
import {
  type AnyStateMachine,
  type AnyStateNode,
  createActor,
  fromCallback,
  fromPromise,
  SimulatedClock,
} from 'xstate';
import { dashboardMachine } from '../../client/app/model/dashboard/dashboard-machine.ts';
import {
  addSample,
  breakerIndicator,
  overallIndicator,
  thermalIndicator,
  toSample,
  type WebsocketHealth,
} from '../../client/app/model/dashboard/health.ts';
import {
  activeStates,
  applyMessages,
  ENDED_LIMIT,
  emptyStore,
  LOG_LIMIT,
} from '../../client/app/model/inspector/actor-store.ts';
import { allNodes, chartGraph, ROOT_ID } from '../../client/app/model/inspector/chart-graph.ts';
import { layoutChart, layoutChartToFit } from '../../client/app/model/inspector/chart-layout.ts';
import { charts } from '../../client/app/model/inspector/charts.ts';
import { inspectorMachine } from '../../client/app/model/inspector/inspector-machine.ts';
import type { ServerInspection } from '../../client/app/model/inspector/server-feed.ts';

// A CommonJS module whose `default` is the class; in Node it lays out without a worker.
const ELK = elkjs.default;

function statePaths(machine: AnyStateMachine): string[] {
  const out: string[] = [];
  const visit = (node: AnyStateNode) => {
    out.push(node.path.length === 0 ? ROOT_ID : node.path.join('.'));
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  return out;
}

describe('chart drawings', () => {
  it('draw every state of every chart, and every transition that goes somewhere', () => {
    for (const [name, machine] of Object.entries(charts)) {
      const graph = chartGraph(machine);
      expect(
        allNodes(graph.root).map((node) => node.id),
        name,
      ).toEqual(statePaths(machine));
      const ids = new Set(statePaths(machine));
      for (const edge of graph.edges) {
        expect(ids.has(edge.target), `${name}: ${edge.target}`).toBe(true);
        if (!edge.initial) expect(ids.has(edge.source), `${name}: ${edge.source}`).toBe(true);
      }
      // XState's own bookkeeping for delays is not shown as an action of anyone's.
      for (const node of allNodes(graph.root)) {
        for (const line of [...node.notes, ...node.internal]) expect(line).not.toMatch(/inline/);
      }
    }
  });

  it('label arrows with events, delays, `always` and done events, and list stay-put ones', () => {
    const graph = chartGraph(charts['thread-lifecycle'] as AnyStateMachine);
    const arrows = graph.edges
      .filter((edge) => !edge.initial)
      .map(({ source, target, label }) => ({ source, target, label }));
    expect(arrows).toEqual(
      expect.arrayContaining([
        { source: 'open.link.attached', target: 'open.link.detached', label: 'socket.detached' },
        { source: 'open.link.detached', target: 'expired', label: 'after sessionTtl' },
        { source: 'open.link.resumed', target: 'open.link.attached', label: 'always' },
        { source: 'open.work.streaming', target: 'open.work.idle', label: 'done(request)' },
        { source: 'open', target: 'closing', label: 'thread.bye' },
      ]),
    );
    const nodes = new Map(allNodes(graph.root).map((node) => [node.id, node]));
    expect(nodes.get('open.work.streaming')?.internal).toContain(
      'request.cancel [isActiveRequest] / forwardCancel',
    );
    expect(nodes.get('open.work.streaming')?.notes).toEqual(['invoke request']);
    expect(nodes.get('open.link')?.role).toBe('region');
    const cancellation = chartGraph(charts.cancellation as AnyStateMachine);
    expect(allNodes(cancellation.root).find((node) => node.id === 'completed')?.type).toBe('final');
    // Each compound state has an initial arrow to its initial child.
    expect(graph.edges.filter((edge) => edge.initial).map((edge) => edge.target)).toEqual(
      expect.arrayContaining(['open', 'open.link.attached', 'open.work.idle']),
    );
  });

  it('are laid out by ELK with each state inside its parent and every arrow routed', async () => {
    const elk = new ELK();
    for (const [name, machine] of Object.entries(charts)) {
      const graph = chartGraph(machine);
      const layout = await layoutChart(graph, elk);
      const boxes = new Map(layout.nodes.map((node) => [node.id, node]));
      expect([...boxes.keys()].sort(), name).toEqual(statePaths(machine).sort());
      for (const node of allNodes(graph.root)) {
        for (const child of node.children) {
          const outer = boxes.get(node.id);
          const inner = boxes.get(child.id);
          if (!outer || !inner) throw new Error(`${name}: ${child.id} not laid out`);
          expect(inner.x, `${name}: ${child.id}`).toBeGreaterThanOrEqual(outer.x);
          expect(inner.y, `${name}: ${child.id}`).toBeGreaterThanOrEqual(outer.y);
          expect(inner.x + inner.width).toBeLessThanOrEqual(outer.x + outer.width + 0.5);
          expect(inner.y + inner.height).toBeLessThanOrEqual(outer.y + outer.height + 0.5);
        }
      }
      expect(layout.edges.length, name).toBe(graph.edges.length);
      for (const edge of layout.edges) {
        expect(edge.points.length).toBeGreaterThanOrEqual(2);
        if (edge.edge.label) expect(edge.label?.text).toBe(edge.edge.label);
      }
    }
  });

  it('pick the direction that keeps a wide chart readable', async () => {
    const elk = new ELK();
    const graph = chartGraph(charts.connection as AnyStateMachine);
    const right = await layoutChart(graph, elk, undefined, 'RIGHT');
    const chosen = await layoutChartToFit(graph, elk);
    expect(right.width).toBeGreaterThan(900);
    expect(chosen.width).toBeLessThan(right.width);
  });
});

describe('actor store', () => {
  const hello = {
    type: 'hello' as const,
    version: 1,
    root: 'x:0',
    charts: {},
    actors: [{ ref: 'x:0', id: 'x:0', machine: 'server-root', status: 'active', value: 'serving' }],
  };

  it('follows actors from creation to their end, logging events with the state they led to', () => {
    let store = applyMessages(emptyStore, [hello], 1);
    store = applyMessages(
      store,
      [
        {
          type: 'actor',
          actor: { ref: 'x:5', id: 's-1', parent: 'x:0', machine: 'thread-lifecycle' },
        },
        {
          type: 'snapshot',
          ref: 'x:5',
          event: 'xstate.init',
          status: 'active',
          value: { open: { link: 'attached', work: 'idle' } },
        },
        {
          type: 'actor',
          actor: { ref: 'x:6', id: 'request', parent: 'x:5', machine: 'cancellation' },
        },
        {
          type: 'event',
          ref: 'x:5',
          source: 'x:0',
          event: { type: 'request.start', requestId: 'r' },
        },
        {
          type: 'snapshot',
          ref: 'x:5',
          event: 'request.start',
          status: 'active',
          value: { open: { link: 'attached', work: 'streaming' } },
        },
      ],
      2,
    );
    const session = store.actors['x:5'];
    expect(session?.log[0]).toMatchObject({
      type: 'request.start',
      from: 'x:0',
      payload: '{"requestId":"r"}',
      to: 'open.link.attached, open.work.streaming',
      at: 2,
    });
    expect([...activeStates(session?.value)]).toEqual([
      'open',
      'open.link',
      'open.link.attached',
      'open.work',
      'open.work.streaming',
    ]);

    // The session stops: so does its request child, whatever its own messages say.
    store = applyMessages(store, [
      { type: 'snapshot', ref: 'x:5', event: 'xstate.stop', status: 'stopped' },
    ]);
    expect(store.actors['x:5']).toMatchObject({ ended: true, status: 'stopped' });
    expect(store.actors['x:6']).toMatchObject({ ended: true, status: 'stopped' });
    expect(store.actors['x:0']?.ended).toBe(false);
  });

  it('keeps logs and ended actors bounded, and starts over on a new hello', () => {
    let store = applyMessages(emptyStore, [hello]);
    const events = Array.from({ length: LOG_LIMIT + 10 }, (_, index) => ({
      type: 'event' as const,
      ref: 'x:0',
      source: null,
      event: { type: `e${index}` },
    }));
    store = applyMessages(store, events);
    expect(store.actors['x:0']?.log).toHaveLength(LOG_LIMIT);
    expect(store.actors['x:0']?.log[0]?.type).toBe(`e${LOG_LIMIT + 9}`);

    for (let index = 0; index < ENDED_LIMIT + 5; index++) {
      store = applyMessages(store, [
        { type: 'actor', actor: { ref: `c:${index}`, id: `c${index}`, parent: 'x:0' } },
        { type: 'snapshot', ref: `c:${index}`, event: 'xstate.stop', status: 'stopped' },
      ]);
    }
    expect(store.ended).toHaveLength(ENDED_LIMIT);
    expect(store.actors['c:0']).toBeUndefined();
    expect(store.actors[`c:${ENDED_LIMIT + 4}`]?.ended).toBe(true);

    store = applyMessages(store, [{ ...hello, actors: [] }]);
    expect(store.actors).toEqual({});
    expect(store.ended).toEqual([]);
  });
});

function report(overrides: Partial<WebsocketHealth> = {}, at = 0, sent = 0): WebsocketHealth {
  const latency = {
    count: 0,
    avg_ms: null,
    p50_ms: null,
    p90_ms: null,
    p99_ms: null,
    max_ms: null,
  };
  return {
    status: 'ok',
    metrics: true,
    connections: { active: 1, opened_total: 1, closed_total: 0, closed_by_code: {} },
    messages: {
      frames_sent_total: sent,
      frames_replayed_total: 0,
      frames_received_total: 0,
      frames_deduplicated_total: 0,
    },
    requests: null,
    queue: {
      buffered_frames: 0,
      buffered_bytes: 0,
      limit_frames_per_session: 10_000,
      limit_bytes_per_session: 8 << 20,
      overflows_total: 0,
    },
    retry: {
      sessions_active: 1,
      sessions_detached: 0,
      resumed_total: 0,
      resume_failures: {},
      expired_total: 0,
    },
    circuit_breaker: { state: 'closed' },
    latency: {
      first_chunk: latency,
      cancel_ack: latency,
      resume: latency,
      connection_duration: latency,
    },
    thermal: { state: 'unavailable', celsius: -1 },
    uptime_seconds: 1,
    last_update: new Date(at).toISOString(),
    last_activity: null,
    ...overrides,
  };
}

describe('health samples', () => {
  it('turn counters into rates over the server’s own clock, and keep a bounded history', () => {
    const first = toSample(report({}, 10_000, 100), undefined);
    expect(first.framesPerSecond).toBeNull();
    const second = toSample(report({}, 12_000, 160), first);
    expect(second.framesPerSecond).toBe(30);
    // A restarted server counts from zero again: no negative rate.
    expect(toSample(report({}, 13_000, 5), second).framesPerSecond).toBeNull();

    let history = addSample([], report({}, 0, 0), 3);
    for (let second = 1; second <= 5; second++) {
      history = addSample(history, report({}, second * 1000, second * 10), 3);
    }
    expect(history.map((sample) => sample.framesPerSecond)).toEqual([10, 10, 10]);
    expect(history.at(-1)?.at).toBe(5000);
  });

  it('name each state of the breaker, the thermal level and the server, with its colour', () => {
    expect(breakerIndicator({ state: 'closed' }).tone).toBe('ok');
    expect(breakerIndicator({ state: 'halfOpen' })).toMatchObject({
      tone: 'warn',
      label: 'Half-open',
    });
    expect(breakerIndicator({ state: 'open', retryAfterMs: 12_300 })).toMatchObject({
      tone: 'error',
      label: 'Open',
      detail: 'Failing fast; next trial in 13 s.',
    });
    expect(thermalIndicator({ state: 'normal', celsius: 61.26 })).toMatchObject({
      tone: 'ok',
      detail: '61.3 °C',
    });
    expect(thermalIndicator({ state: 'throttled', celsius: 86 }).tone).toBe('warn');
    expect(thermalIndicator({ state: 'critical', celsius: 95 }).tone).toBe('error');
    expect(thermalIndicator({ state: 'unavailable', celsius: -1 })).toMatchObject({
      tone: 'muted',
      label: 'No sensor',
    });
    expect(
      overallIndicator(
        report({ status: 'degraded', circuit_breaker: { state: 'open', retryAfterMs: 1000 } }),
      ),
    ).toMatchObject({ tone: 'warn', detail: 'The upstream breaker is open.' });
  });
});

describe('dashboard chart', () => {
  it('reads once a second, goes unreachable on a failed read and live again after', async () => {
    const clock = new SimulatedClock();
    let reads = 0;
    let failing = false;
    const actor = createActor(
      dashboardMachine.provide({
        actors: {
          fetchHealth: fromPromise(async () => {
            reads++;
            if (failing) throw new Error('connection refused');
            return report({}, reads * 1000, reads * 5);
          }),
        },
      }),
      { clock, input: { historyLimit: 10 } },
    );
    actor.start();
    const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
    await settle();
    expect(actor.getSnapshot().matches('live')).toBe(true);
    expect(reads).toBe(1);
    for (let second = 0; second < 3; second++) {
      clock.increment(1000);
      await settle();
    }
    expect(reads).toBe(4);
    expect(actor.getSnapshot().context.history.map((sample) => sample.framesPerSecond)).toEqual([
      null,
      5,
      5,
      5,
    ]);

    failing = true;
    clock.increment(1000);
    await settle();
    expect(actor.getSnapshot().matches('unreachable')).toBe(true);
    expect(actor.getSnapshot().context.problem).toBe('connection refused');
    expect(actor.getSnapshot().context.latest).not.toBeNull();

    failing = false;
    clock.increment(1000);
    await settle();
    expect(actor.getSnapshot().matches('live')).toBe(true);
    expect(actor.getSnapshot().context.problem).toBeNull();
    actor.stop();
  });
});

describe('inspector chart', () => {
  it('stays away from a server that serves no inspection, and still watches the page', async () => {
    let feeds = 0;
    let checks = 0;
    let pageWatched = false;
    const actor = createActor(
      inspectorMachine.provide({
        actors: {
          checkServer: fromPromise(async (): Promise<ServerInspection> => {
            checks++;
            return { enabled: false, mode: 'off' };
          }),
          serverFeed: fromCallback(() => {
            feeds++;
          }),
          pageFeed: fromCallback(() => {
            pageWatched = true;
            return () => {
              pageWatched = false;
            };
          }),
        },
      }),
    );
    actor.start();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(actor.getSnapshot().matches({ server: 'disabled' })).toBe(true);
    expect(actor.getSnapshot().context.serverMode).toBe('off');
    expect(feeds).toBe(0);
    expect(pageWatched).toBe(true);
    // "Check again" asks once more (the server may have been restarted with inspection on).
    actor.send({ type: 'server.retry' });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(checks).toBe(2);
    expect(actor.getSnapshot().matches({ server: 'disabled' })).toBe(true);
    actor.stop();
    expect(pageWatched).toBe(false);
  });

  it('folds the server’s messages while linked, and checks again after the socket closes', async () => {
    const clock = new SimulatedClock();
    let checks = 0;
    const actor = createActor(
      inspectorMachine.provide({
        actors: {
          checkServer: fromPromise(async (): Promise<ServerInspection> => {
            checks++;
            return { enabled: true, mode: 'local' };
          }),
          serverFeed: fromCallback(() => undefined),
          pageFeed: fromCallback(() => undefined),
        },
      }),
      { clock },
    );
    actor.start();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(actor.getSnapshot().matches({ server: { linked: 'connecting' } })).toBe(true);
    actor.send({ type: 'server.opened' });
    actor.send({
      type: 'server.received',
      at: 5,
      messages: [
        {
          type: 'hello',
          version: 1,
          root: 'x:0',
          charts: {},
          actors: [{ ref: 'x:0', id: 'x:0', machine: 'server-root', value: 'serving' }],
        },
      ],
    });
    actor.send({ type: 'actor.select', source: 'server', ref: 'x:0' });
    expect(actor.getSnapshot().matches({ server: { linked: 'live' } })).toBe(true);
    expect(actor.getSnapshot().context.server.actors['x:0']?.value).toBe('serving');
    expect(actor.getSnapshot().context.selected).toEqual({ source: 'server', ref: 'x:0' });

    actor.send({ type: 'server.closed', code: 1001, reason: 'server shutting down' });
    expect(actor.getSnapshot().matches({ server: 'lost' })).toBe(true);
    expect(actor.getSnapshot().context.problem).toBe('The server is shutting down.');
    clock.increment(1000);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(checks).toBe(2);
    expect(actor.getSnapshot().matches({ server: 'linked' })).toBe(true);
    actor.stop();
  });
});
