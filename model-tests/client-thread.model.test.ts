/**
 * Model-based test of the `client-thread` chart, the client's root: every path from XState's
 * graph utilities is replayed against a real client talking to a real server through the fault
 * proxy, with the server's upstream played by hand and each side on its own simulated clock. Each
 * step does what produces its event in the real world: the user asks, cancels or closes; the link
 * drops or is retried (resuming the session, or finding it expired); the upstream completes,
 * fails or stops; the client's cancel timeout passes while the upstream ignores the cancel, so the
 * server refuses the next request as busy; the refusal delay passes. After each step the real
 * thread must have taken exactly the model's transitions; where it holds still the test checks
 * what a user sees (queue, streaming flag, connection, every request's result and chunks) and
 * what the server holds (the session attached or not, the request it streams, its cancel).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AnyEventObject } from 'xstate';
import type { RequestStatus } from '../client/request-handle.ts';
import { waitFor } from '../test/support/harness.ts';
import { transitionsOf } from './support/chart-graph.ts';
import {
  clientThreadChart,
  clientThreadModel,
  connectionDone,
  dueAnswer,
  parsePhase,
  refusalRetryElapsed,
  refusalRetryMs,
  requestDone,
  unreachableThroughTheClient,
} from './support/client-thread-model.ts';
import {
  type ConversationClient,
  type ConversationRig,
  startConversationRig,
} from './support/conversation-rig.ts';
import { clientCancelTimeoutMs, conversationServer } from './support/conversation-settings.ts';
import { ChartCoverage, recordCoverage } from './support/coverage.ts';
import { activeNodeIds } from './support/microstep-log.ts';
import { eventName, type ModelPath, ModelTraversal, type PathStep } from './support/model-paths.ts';
import { ProtocolPeer, type Resume } from './support/protocol-peer.ts';
import { chunkOf } from './support/scripted-responder.ts';

const traversal = new ModelTraversal(clientThreadModel);
const generated = traversal.coveringPaths();

/** What comes next by itself after the step, if anything does. */
function dueAfter(step: PathStep): AnyEventObject | null {
  if (step.state.matches('closing')) return connectionDone;
  return dueAnswer(step.state, parsePhase(step.phase));
}

/**
 * The path, carried on through whatever then happens by itself: a path cannot end while the real
 * system is still moving (an answer owed, a refusal on its way).
 */
function toRest(path: ModelPath): ModelPath {
  const events = path.steps.slice(1).map((step) => step.event as AnyEventObject);
  let rested = path;
  for (let due = dueAfter(path.steps.at(-1) as PathStep); due; ) {
    events.push(due);
    rested = { ...traversal.pathFromEvents(events), origin: path.origin };
    due = dueAfter(rested.steps.at(-1) as PathStep);
  }
  return rested;
}

/** Journeys worth replaying on their own, beyond what coverage needs. */
const scenarios: ModelPath[] = [
  // The user stops a request while the server's busy refusal of it is on the way: it ends
  // cancelled, and is not queued again.
  traversal.pathFromEvents([
    { type: 'link.ready', resumed: false },
    { type: 'request.queued', requestId: 'a' },
    { type: 'request.cancel', requestId: 'a' },
    requestDone,
    { type: 'request.queued', requestId: 'b' },
    { type: 'request.cancel', requestId: 'b' },
    { type: 'answer.stopped' },
    requestDone,
  ]),
  // A message typed while offline goes out when the session is resumed, and is answered.
  traversal.pathFromEvents([
    { type: 'link.ready', resumed: false },
    { type: 'link.lost' },
    { type: 'request.queued', requestId: 'a' },
    { type: 'link.ready', resumed: true },
    { type: 'answer.done' },
    requestDone,
    { type: 'thread.close' },
    connectionDone,
  ]),
];
const paths = [...generated.paths, ...scenarios].map(toRest);
const coverage = new ChartCoverage('client-thread', clientThreadChart);

/** A step's name, with the model's request id where it has one. */
function stepName(step: PathStep): string {
  const { requestId, lost } = step.event as { requestId?: string; lost?: string };
  if (requestId) return `${eventName(step.event)}(${requestId})`;
  return lost ? `${eventName(step.event)}(lost)` : eventName(step.event);
}

interface Expected {
  status: RequestStatus;
  code?: string;
}

interface World {
  rig: ConversationRig;
  conversation: ConversationClient;
  /** The real id each model id stands for (the latest request queued under it). */
  ids: Map<string, string>;
  counter: number;
  /** The server session the client is in (the latest welcome). */
  sessionId: string | null;
  /** The request the server still streams after the client forced its cancel. */
  orphan: string | null;
  /** How each request has ended, as its user must see it. */
  expected: Map<string, Expected>;
  /** Server→client bytes held so the user's cancel crosses the server's refusal. */
  held: boolean;
  /** Whether the thread was linked when it was closed. */
  closedLinked: boolean | null;
}

const attachedIn = (step: PathStep) => step.state.matches({ open: { link: 'attached' } });
const streamingIn = (step: PathStep) => step.state.matches({ open: { work: 'streaming' } });

function realId(world: World, modelId: string | null): string | null {
  if (modelId === null) return null;
  const id = world.ids.get(modelId);
  if (!id) throw new Error(`model request ${modelId} was never queued`);
  return id;
}

/** Whether the event of step `i` happens by itself once the steps before it are done. */
function happensByItself(path: ModelPath, i: number): boolean {
  const step = path.steps[i];
  const before = path.steps[i - 1];
  if (!step || !before) return false;
  if (step.event.type === connectionDone.type) return true;
  const due = dueAnswer(before.state, parsePhase(before.phase));
  return due !== null && JSON.stringify(due) === JSON.stringify(step.event);
}

/** Moves the client's clock through a delay: nothing a millisecond early, the step right at it. */
function elapse(world: World, ms: number, what: string) {
  const { thread } = world.conversation;
  const taken = thread.steps.length;
  world.rig.clientClock.increment(ms - 1);
  expect(thread.steps.length, `${what} fired 1 ms early`).toBe(taken);
  world.rig.clientClock.increment(1);
}

/** The server's session for this client, while it has one. */
const serverSession = (world: World) =>
  world.sessionId ? world.rig.sessionActor(world.sessionId) : undefined;

/** Makes the server drop the session the client was in: it is detached, its TTL runs out. */
async function expireSession(world: World) {
  const { rig, sessionId } = world;
  if (!sessionId) throw new Error('no session to expire');
  const detached = () =>
    serverSession(world)
      ?.getSnapshot()
      .matches({ open: { link: 'detached' } });
  await waitFor(detached, { what: 'the server to see the link drop' });
  rig.serverClock.increment(conversationServer.sessionTtlMs);
  await waitFor(() => rig.gateway.store.get(sessionId) === undefined, {
    what: 'the session to expire',
  });
}

/** Reconnects now: the link the client waits to retry is let through. */
async function reconnect(world: World) {
  const { client } = world.conversation;
  world.rig.plan('live');
  await waitFor(() => client.status().connection === 'reconnecting', {
    what: 'the client waiting to reconnect',
  });
  client.retry();
}

async function act(path: ModelPath, i: number, world: World) {
  const step = path.steps[i] as PathStep;
  const before = path.steps[i - 1] as PathStep;
  const phase = parsePhase(before.phase);
  const { rig, conversation } = world;
  const next = path.steps[i + 1];
  const nextEvent = next?.event as { type: string; requestId?: string } | undefined;
  if (
    nextEvent?.type === 'request.cancel' &&
    nextEvent.requestId === step.state.context.activeRequestId &&
    dueAnswer(step.state, parsePhase(step.phase))?.type === 'request.refused'
  ) {
    // The user's cancel is to cross the server's refusal: hold the refusal up on its way.
    rig.proxy.holdDownstream();
    world.held = true;
  }
  if (happensByItself(path, i)) {
    if (step.event.type === 'answer.stopped') {
      world.expected.set(realId(world, phase.active) as string, { status: 'cancelled' });
    }
    return;
  }
  const event = step.event as { type: string; requestId?: string; lost?: string };
  const active = realId(world, before.state.context.activeRequestId);
  const answer = () => rig.upstream.answer(active as string);
  switch (event.type) {
    case 'link.ready':
      if (event.lost && !before.state.matches('opening')) {
        await expireSession(world);
        // The answer the lost session was streaming is lost with it (a cancelled one just ends).
        if (active && phase.child === 'streaming') {
          world.expected.set(active, { status: 'failed', code: 'session_lost' });
        }
        if (active && phase.child === 'cancelling') {
          world.expected.set(active, { status: 'cancelled' });
        }
        world.orphan = null;
      }
      return reconnect(world);
    case 'link.lost':
      rig.proxy.sever();
      return;
    case 'request.queued': {
      const id = `${event.requestId}-${++world.counter}`;
      world.ids.set(event.requestId as string, id);
      conversation.ask(id);
      return;
    }
    case 'request.cancel': {
      const id = realId(world, event.requestId as string) as string;
      conversation.requests.get(id)?.handle.cancel();
      if (id !== active) world.expected.set(id, { status: 'cancelled' });
      if (world.held) {
        rig.proxy.releaseDownstream();
        world.held = false;
      }
      return;
    }
    case 'answer.done':
      (await answer()).end('finish');
      world.expected.set(active as string, { status: 'done' });
      return;
    case 'answer.failed':
      (await answer()).end('fail');
      world.expected.set(active as string, { status: 'failed', code: 'upstream_failed' });
      return;
    case 'answer.stopped': {
      // The upstream honours the cancel it has heard of.
      const stopping = await answer();
      await waitFor(() => stopping.signal.aborted, { what: 'the upstream told to stop' });
      stopping.end('stop');
      world.expected.set(active as string, { status: 'cancelled' });
      return;
    }
    case requestDone.type:
      // The cancel was not confirmed in time: the client gives up on it; the server, which
      // waits for its upstream, goes on streaming it if it had it.
      elapse(world, clientCancelTimeoutMs, 'cancelTimeout');
      world.expected.set(active as string, { status: 'cancelled' });
      if (phase.onServer) world.orphan = active;
      return;
    case refusalRetryElapsed.type: {
      if (world.orphan) {
        // The upstream finally stops: the server is free before the client tries again.
        const orphan = await rig.upstream.answer(world.orphan);
        orphan.end('stop');
        await waitFor(() => serverSession(world)?.getSnapshot().context.activeRequestId === null, {
          what: 'the server to end the request the client gave up on',
        });
        world.orphan = null;
      }
      return elapse(world, refusalRetryMs, 'refusalRetry');
    }
    case 'thread.close':
      for (const id of conversation.requests.keys()) {
        if (!world.expected.has(id)) world.expected.set(id, { status: 'failed', code: 'closed' });
      }
      world.closedLinked = attachedIn(before);
      conversation.close();
      return;
    default:
      throw new Error(`no real-world action produces ${event.type}`);
  }
}

/**
 * After a step, waits until the server holds what the model says it holds: the active request
 * (and its cancel) reach the server while linked, so no later step can overtake them.
 */
async function settle(step: PathStep, world: World) {
  world.sessionId = world.conversation.client.resumeInfo()?.sessionId ?? world.sessionId;
  const phase = parsePhase(step.phase);
  if (!attachedIn(step) || !streamingIn(step) || phase.orphan) return;
  if (phase.child !== 'streaming' && phase.child !== 'cancelling') return;
  const id = realId(world, phase.active) as string;
  const answer = await world.rig.upstream.answer(id);
  const tracked = world.conversation.requests.get(id);
  await waitFor(() => tracked?.chunks.includes(chunkOf(id)), { what: `the user reading ${id}` });
  if (phase.child === 'cancelling') {
    await waitFor(() => answer.signal.aborted, { what: `the cancel of ${id} at the server` });
  }
}

/** What the user and the server show while the thread holds still in the step's state. */
async function observe(path: ModelPath, i: number, world: World) {
  const step = path.steps[i] as PathStep;
  const what = `step ${i} (${stepName(step)}), holding still`;
  const { rig, conversation } = world;
  const { client } = conversation;
  const phase = parsePhase(step.phase);
  const snapshot = client.thread.getSnapshot();
  expect(snapshot.value, what).toEqual(step.state.value);
  const queue: string[] = step.state.context.queue;
  expect(snapshot.context.queue, what).toEqual(queue.map((id) => realId(world, id)));
  const active = realId(world, step.state.context.activeRequestId);
  expect(snapshot.context.activeRequestId, what).toBe(active);

  if (step.state.matches('open') || step.state.matches('opening')) {
    const status = client.status();
    expect(status.streaming, what).toBe(streamingIn(step));
    expect(status.queued, what).toBe(queue.length);
    const connection = attachedIn(step) ? 'linked.open.ready' : 'reconnecting';
    await waitFor(() => client.status().connection === connection, {
      what: `${what}: ${connection}`,
    });
    const linked = attachedIn(step) ? 1 : 0;
    await waitFor(() => rig.gateway.connectionCount === linked, {
      what: `${what}: ${linked} connection(s) on the server`,
    });
    const session = serverSession(world)?.getSnapshot();
    if (step.state.matches('opening')) {
      expect(rig.gateway.store.size, `${what}: no session yet`).toBe(0);
    } else {
      const link = attachedIn(step) ? 'attached' : 'detached';
      expect(session?.matches({ open: { link } }), `${what}: the server's session ${link}`).toBe(
        true,
      );
    }
    // The request child runs the active request's end.
    const child = snapshot.children.request?.getSnapshot().value;
    const childState = { streaming: 'streaming', cancelling: 'cancelRequested' } as const;
    if (phase.child === 'streaming' || phase.child === 'cancelling') {
      expect(child, what).toBe(childState[phase.child]);
    } else {
      expect(child, what).toBeUndefined();
    }
    // The server streams what the model says: ours, the one the client gave up on, or nothing.
    if (attachedIn(step) && session) {
      const streamed = world.orphan ?? (phase.child !== 'none' ? active : null);
      expect(session.context.activeRequestId, `${what}: the server streams`).toBe(streamed);
      const request = rig.requestActor(world.sessionId as string)?.getSnapshot().value;
      if (!world.orphan && phase.child === 'streaming') expect(request, what).toBe('streaming');
      if (!world.orphan && phase.child === 'cancelling') {
        expect(request, what).toBe('cancelRequested');
      }
    }
  }
  if (step.state.matches('closed')) {
    expect(snapshot.status, what).toBe('done');
    await conversation.closing;
    // A goodbye closes the server's session; a client that leaves offline leaves it to its TTL.
    const { sessionId, closedLinked } = world;
    if (sessionId) {
      await waitFor(() => (rig.gateway.store.get(sessionId) === undefined) === closedLinked, {
        what: `${what}: the session ${closedLinked ? 'closed' : 'kept for its TTL'}`,
      });
    }
  }
  // Every request ended the way its user must see it; the others are still open.
  for (const [id, tracked] of conversation.requests) {
    const expected = world.expected.get(id);
    if (!expected) {
      expect(tracked.result, `${what}: ${id} still open`).toBeNull();
      continue;
    }
    await waitFor(() => tracked.result, { what: `${what}: ${id} settled` });
    expect(tracked.result?.status, `${what}: ${id}`).toBe(expected.status);
    expect(tracked.result?.error?.code, `${what}: ${id}`).toBe(expected.code);
  }
  // Holding still means holding still: the chart took no transition the path did not ask for.
  expect(conversation.thread.pending(), what).toEqual([]);
}

/** Whether the path starts with a page that resumes a session the server no longer has. */
function startsWithLostSession(path: ModelPath): boolean {
  const index = path.steps.findIndex((step) => step.event.type === 'link.ready');
  const ready = path.steps[index];
  return index > 0 && ready !== undefined && 'lost' in ready.event;
}

async function replay(path: ModelPath) {
  const rig = await startConversationRig();
  const threadId = 'model-thread';
  let resume: Resume | undefined;
  if (startsWithLostSession(path)) {
    // The page's stored session: its socket went away long enough ago for it to expire.
    const old = await ProtocolPeer.open(rig.server.url, threadId);
    old.raw.ws.terminate();
    await old.raw.closed;
    await waitFor(() => rig.gateway.connectionCount === 0, { what: 'the old page gone' });
    rig.serverClock.increment(conversationServer.sessionTtlMs);
    await waitFor(() => rig.gateway.store.size === 0, { what: 'the old session expired' });
    resume = { sessionId: old.sessionId, token: old.token, lastSeq: 0 };
  }
  // The first link is refused: the thread stays opening until a step lets a link through.
  rig.plan('refuse');
  const conversation = rig.openClient({ threadId, ...(resume ? { resume } : {}) });
  const world: World = {
    rig,
    conversation,
    ids: new Map(),
    counter: 0,
    sessionId: null,
    orphan: null,
    expected: new Map(),
    held: false,
    closedLinked: null,
  };
  const initial = conversation.client.thread.getSnapshot();
  expect(initial.value).toEqual(path.steps[0]?.state.value);
  const states = [activeNodeIds(initial)];
  const transitions: string[] = [];
  for (let i = 0; i < path.steps.length; i++) {
    const step = path.steps[i] as PathStep;
    const what = `step ${i} (${stepName(step)})`;
    if (i > 0) {
      await act(path, i, world);
      let real = await conversation.thread.take(step.microsteps[0] ?? [], what);
      for (const microstep of step.microsteps.slice(1)) {
        states.push(real.nodes);
        real = await conversation.thread.take(microstep, what);
      }
      expect(real.value, what).toEqual(step.state.value);
      states.push(real.nodes);
      transitions.push(...step.transitions);
      await settle(step, world);
    }
    if (!happensByItself(path, i + 1)) await observe(path, i, world);
  }
  coverage.coverStates(states.flat());
  coverage.coverTransitions(transitions);
  coverage.paths++;
}

describe('client-thread chart, replayed against the real client and server', () => {
  afterAll(async () => {
    await recordCoverage('client-thread', coverage.entry());
  });

  it('has paths through every transition the client can produce', () => {
    const missed = transitionsOf(clientThreadChart).filter((t) => !generated.reachable.has(t.key));
    expect(missed.map((t) => t.key).sort()).toEqual(
      Object.keys(unreachableThroughTheClient).sort(),
    );
  });

  paths.forEach((path, index) => {
    const name = path.steps.map(stepName).join(' → ');
    it(`path ${index + 1} (${path.origin}): ${name}`, () => replay(path));
  });

  it('covered every state and transition against the real system', () => {
    expect(coverage.uncoveredStates()).toEqual([]);
    // Only what the real client can never take is left, each for its stated reason.
    const missed = transitionsOf(clientThreadChart)
      .filter((t) => coverage.uncoveredTransitions().includes(t.label))
      .map((t) => t.key);
    expect(missed.sort()).toEqual(Object.keys(unreachableThroughTheClient).sort());
  });
});
