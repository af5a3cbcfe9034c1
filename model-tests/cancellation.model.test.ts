/**
 * Model-based test of the `cancellation` chart, the end of one request, on both sides of a real
 * conversation: a real client asks a real server through the fault proxy, and the server's
 * upstream is played by hand. Every path from XState's graph utilities is replayed with the
 * server's instance as its subject, and again with the client's: each step does what produces the
 * event for that side (the user pressing stop, the upstream completing, failing or stopping, a
 * clock passing the cancel timeout, a reply crossing the cancel on a slow link, another device of
 * the same session stopping the answer), and the subject must take exactly the model's transition
 * while the other side does what the real system makes it do. At the end the test checks what the
 * user sees (the request's result) and what an operator sees (the server's request metrics).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../test/support/harness.ts';
import {
  cancellationChart,
  cancellationModel,
  cancelTimeoutElapsed,
  type Side,
  sides,
  unreachableOn,
} from './support/cancellation-model.ts';
import { transitionsOf } from './support/chart-graph.ts';
import {
  type ConversationClient,
  type ConversationRig,
  startConversationRig,
  type TrackedRequest,
} from './support/conversation-rig.ts';
import { clientCancelTimeoutMs, conversationServer } from './support/conversation-settings.ts';
import { ChartCoverage, recordCoverage } from './support/coverage.ts';
import { activeNodeIds, type MicrostepLog } from './support/microstep-log.ts';
import { eventName, type ModelPath, ModelTraversal, type PathStep } from './support/model-paths.ts';
import { ProtocolPeer } from './support/protocol-peer.ts';
import { chunkOf, type ScriptedAnswer } from './support/scripted-responder.ts';

const traversal = new ModelTraversal(cancellationModel);
const generated = traversal.coveringPaths();
const coverage = new ChartCoverage('cancellation', cancellationChart);

/** The transitions of `path` that `side` can never take. */
function blockedOn(path: ModelPath, side: Side): string[] {
  return path.steps.flatMap((step) => step.transitions).filter((key) => unreachableOn[side][key]);
}

const replays = generated.paths.flatMap((path, index) =>
  sides
    .filter((side) => blockedOn(path, side).length === 0)
    .map((side) => ({ path, side, number: index + 1 })),
);

const other = (side: Side): Side => (side === 'server' ? 'client' : 'server');

interface World {
  rig: ConversationRig;
  conversation: ConversationClient;
  sessionId: string;
  requestId: string;
  tracked: TrackedRequest;
  answer: ScriptedAnswer;
  logs: Record<Side, MicrostepLog>;
  /** Where the other side's instance must end up (its final state, or where it waits). */
  counterpart: string | null;
  /** The server's reply crossed the client's cancel: the cancel found nothing to stop. */
  crossed: boolean;
}

/** Moves one side's clock through the cancel timeout: nothing a millisecond early. */
function elapse(world: World, side: Side) {
  const clock = side === 'server' ? world.rig.serverClock : world.rig.clientClock;
  const ms = side === 'server' ? conversationServer.cancelTimeoutMs : clientCancelTimeoutMs;
  const log = world.logs[side];
  const taken = log.steps.length;
  clock.increment(ms - 1);
  expect(log.steps.length, `the ${side}'s cancelTimeout fired 1 ms early`).toBe(taken);
  clock.increment(1);
}

/** The server's request has ended (its final frame is out). */
const serverDone = (world: World) =>
  waitFor(() => world.rig.requestActor(world.sessionId) === undefined, {
    what: 'the server to end the request',
  });

/**
 * Another device of the same session (a second tab) takes the session over, stops the answer,
 * and goes away; the client, superseded meanwhile (4409), is told to retry and resumes: the
 * replay brings it the `cancelled` frame it never asked for.
 */
async function stoppedElsewhere(world: World) {
  const { rig, conversation, requestId } = world;
  const { client } = conversation;
  const resume = client.resumeInfo();
  if (!resume) throw new Error('the client has no session');
  const device = await ProtocolPeer.open(rig.server.url, client.threadId, resume);
  expect(device.welcome.resumed, 'the other device resumed the session').toBe(true);
  await waitFor(() => client.status().connection === 'failed', { what: 'the client superseded' });
  device.send({ type: 'cancel', requestId });
  await waitFor(() => world.answer.signal.aborted, { what: 'the upstream told to stop' });
  world.answer.end('stop');
  await device.frame({ type: 'cancelled', requestId });
  device.raw.ws.terminate();
  await device.raw.closed;
  client.retry();
}

async function act(path: ModelPath, i: number, side: Side, world: World) {
  const step = path.steps[i] as PathStep;
  const before = path.steps[i - 1] as PathStep;
  const { rig, answer, tracked } = world;
  const cancelling = before.state.matches('cancelRequested');
  switch (step.event.type) {
    case 'request.cancel': {
      const next = path.steps[i + 1]?.event.type;
      if (side === 'client' && (next === 'answer.done' || next === 'answer.failed')) {
        // The server's last word is on a slow link when the user presses stop: it crosses the
        // cancel, which reaches a server with nothing left to stop.
        rig.proxy.holdDownstream();
        answer.end(next === 'answer.done' ? 'finish' : 'fail');
        await serverDone(world);
        world.crossed = true;
        world.counterpart = next === 'answer.done' ? 'completed' : 'failed';
      }
      tracked.handle.cancel();
      return;
    }
    case 'answer.done':
    case 'answer.failed': {
      if (world.crossed) {
        rig.proxy.releaseDownstream();
        return;
      }
      const done = step.event.type === 'answer.done';
      answer.end(done ? 'finish' : 'fail');
      // The other side ends the same way (the client sees the server's own final frame).
      world.counterpart = done ? (cancelling ? 'completedFirst' : 'completed') : 'failed';
      return;
    }
    case 'answer.stopped':
      world.counterpart = 'cancelled';
      if (!cancelling) return stoppedElsewhere(world);
      // The upstream honours the cancel once it has heard of it.
      await waitFor(() => answer.signal.aborted, { what: 'the upstream told to stop' });
      answer.end('stop');
      return;
    case cancelTimeoutElapsed.type:
      if (side === 'server') {
        await waitFor(() => answer.signal.aborted, { what: 'the upstream told to stop' });
      }
      elapse(world, side);
      // The client hears `cancelled` (forced) from the server; the server, when the client gives
      // up first, keeps waiting for its upstream (its own clock has not moved).
      world.counterpart = side === 'server' ? 'cancelled' : 'cancelRequested';
      return;
    default:
      throw new Error(`no real-world action produces ${step.event.type}`);
  }
}

/** The result the user holds once the client's instance is in `final`. */
function expectedResult(final: string) {
  if (final === 'completed' || final === 'completedFirst') return { status: 'done' };
  if (final === 'failed') return { status: 'failed', code: 'upstream_failed' };
  return { status: 'cancelled' };
}

/** The server's metrics once its instance is in `state`. */
async function expectServerMetrics(rig: ConversationRig, state: string, what: string) {
  const count = (name: string, labels?: Record<string, string>) => rig.metric(name, labels);
  const expected: Record<string, () => Promise<number>> = {
    completed: () => count('requests_done_total'),
    completedFirst: () => count('requests_done_total'),
    cancelled: () => count('requests_cancelled_total', { forced: 'false' }),
    forced: () => count('requests_cancelled_total', { forced: 'true' }),
    failed: () => count('requests_failed_total', { code: 'upstream_failed' }),
    cancelRequested: () => count('requests_active'),
  };
  const read = expected[state];
  if (!read) throw new Error(`no metric for ${state}`);
  await waitFor(async () => (await read()) === 1, { what: `${what}: the server counts ${state}` });
}

/** What the user and an operator see while the subject holds still in the step's state. */
async function observe(step: PathStep, i: number, side: Side, world: World) {
  const what = `step ${i} (${eventName(step.event)}) on the ${side}, holding still`;
  const { rig, tracked, logs } = world;
  const state = String(step.state.value);
  if (!step.state.matches('streaming') && !step.state.matches('cancelRequested')) {
    const server = side === 'server' ? state : world.counterpart;
    const client = side === 'client' ? state : world.counterpart;
    if (!server || !client) throw new Error(`${what}: no expectation for the other side`);
    await waitFor(() => String(logs[other(side)].steps.at(-1)?.value) === world.counterpart, {
      what: `${what}: the ${other(side)}'s instance in ${world.counterpart}`,
    });
    const result = expectedResult(client);
    await waitFor(() => tracked.result, { what: `${what}: the request settled` });
    expect(tracked.result?.status, what).toBe(result.status);
    expect(tracked.result?.error?.code, what).toBe(result.code);
    // What was streamed before the end stays with the user.
    expect(tracked.chunks, what).toEqual([chunkOf(world.requestId)]);
    await expectServerMetrics(rig, server, what);
  } else {
    const actor =
      side === 'server'
        ? rig.requestActor(world.sessionId)
        : world.conversation.client.thread.getSnapshot().children.request;
    expect(actor?.getSnapshot().value, what).toBe(state);
    expect(tracked.result, `${what}: not settled yet`).toBeNull();
    if (step.state.matches('cancelRequested') && !world.crossed) {
      // The cancel reached the upstream as its AbortSignal.
      await waitFor(() => world.answer.signal.aborted, { what: `${what}: the upstream told` });
    }
  }
  expect(logs[side].pending(), what).toEqual([]);
}

async function replay(path: ModelPath, side: Side) {
  const rig = await startConversationRig();
  const conversation = rig.openClient();
  const { client } = conversation;
  await waitFor(() => client.thread.getSnapshot().matches({ open: { link: 'attached' } }), {
    what: 'the client linked',
  });
  const sessionId = client.resumeInfo()?.sessionId ?? '';
  const logs = {
    server: rig.serverLog(() => rig.requestActor(sessionId)),
    client: conversation.request,
  };
  const requestId = 'request-1';
  const tracked = conversation.ask(requestId);
  const answer = await rig.upstream.answer(requestId);
  await waitFor(() => tracked.chunks.length === 1, { what: 'the first chunk read by the user' });
  const world: World = {
    rig,
    conversation,
    sessionId,
    requestId,
    tracked,
    answer,
    logs,
    counterpart: null,
    crossed: false,
  };
  const subject =
    side === 'server' ? rig.requestActor(sessionId) : client.thread.getSnapshot().children.request;
  const initial = subject?.getSnapshot();
  if (!initial) throw new Error(`the ${side} runs no request`);
  expect(initial.value).toEqual(path.steps[0]?.state.value);
  const states = [activeNodeIds(initial)];
  const transitions: string[] = [];
  for (let i = 0; i < path.steps.length; i++) {
    const step = path.steps[i] as PathStep;
    if (i > 0) {
      await act(path, i, side, world);
      const real = await logs[side].take(step.microsteps[0] ?? [], `step ${i} on the ${side}`);
      expect(real.value).toEqual(step.state.value);
      states.push(real.nodes);
      transitions.push(...step.transitions);
    }
    await observe(step, i, side, world);
  }
  coverage.coverStates(states.flat());
  coverage.coverTransitions(transitions);
  coverage.paths++;
}

describe('cancellation chart, replayed on both sides of a real conversation', () => {
  afterAll(async () => {
    await recordCoverage('cancellation', coverage.entry());
  });

  it('has paths through every transition of the chart', () => {
    const missed = transitionsOf(cancellationChart).filter((t) => !generated.reachable.has(t.key));
    expect(missed.map((t) => t.label)).toEqual([]);
  });

  it('replays every path on at least one side', () => {
    const lone = generated.paths.filter((path) => !replays.some((r) => r.path === path));
    expect(lone.map((path) => path.name)).toEqual([]);
  });

  for (const { path, side, number } of replays) {
    it(`path ${number} (${path.origin}) on the ${side}: ${path.name}`, () => replay(path, side));
  }

  it('covered every state and transition against the real system', () => {
    expect(coverage.uncoveredStates()).toEqual([]);
    expect(coverage.uncoveredTransitions()).toEqual([]);
  });
});
