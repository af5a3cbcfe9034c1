/**
 * Model-based test of the `thread-lifecycle` chart, the server's session: every path from XState's
 * graph utilities is replayed against a real server over real sockets, through a fault proxy. The
 * session's client speaks the protocol by hand, so each step is exactly one thing a client, the
 * network, the upstream or the server's clock does: a request, a cancel, a goodbye, a severed
 * link, a resume, an answer that ends, a TTL that runs out. After each step the real session
 * must have taken exactly the model's transition; where it holds still, the test checks what the
 * client and an operator see: frames received exactly once and in order across resumes, refusals,
 * the socket count, the session kept or gone (and what a late resume is told), the metrics.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../test/support/harness.ts';
import { transitionsOf } from './support/chart-graph.ts';
import { type ConversationRig, startConversationRig } from './support/conversation-rig.ts';
import { conversationServer } from './support/conversation-settings.ts';
import { ChartCoverage, recordCoverage } from './support/coverage.ts';
import { activeNodeIds, type MicrostepLog } from './support/microstep-log.ts';
import { eventName, type ModelPath, ModelTraversal, type PathStep } from './support/model-paths.ts';
import type { Frame, ProtocolPeer } from './support/protocol-peer.ts';
import { chunkOf } from './support/scripted-responder.ts';
import {
  Active,
  closeTimeoutElapsed,
  lifecycleChart,
  lifecycleModel,
  requestEnded,
  sessionTtlElapsed,
  Unknown,
} from './support/thread-lifecycle-model.ts';

const traversal = new ModelTraversal(lifecycleModel);
const generated = traversal.coveringPaths();

/** Journeys worth replaying on their own, beyond what coverage needs. */
const scenarios: ModelPath[] = [
  // The answer ends while the client is away; the resume replays what it missed, once.
  traversal.pathFromEvents([
    { type: 'request.start', requestId: Active },
    { type: 'socket.detached' },
    requestEnded,
    { type: 'socket.attached', lastSeq: 0 },
    { type: 'thread.bye' },
    { type: 'socket.detached' },
  ]),
  // A cancel the upstream honours, then a second request on the same session.
  traversal.pathFromEvents([
    { type: 'request.start', requestId: Active },
    { type: 'request.cancel', requestId: Active },
    requestEnded,
    { type: 'request.start', requestId: Active },
    requestEnded,
  ]),
];
const paths = [...generated.paths, ...scenarios];
const coverage = new ChartCoverage('thread-lifecycle', lifecycleChart);

/** A step's name, with the model's request id where it matters. */
function stepName(step: PathStep): string {
  const requestId = (step.event as { requestId?: string }).requestId;
  return requestId ? `${eventName(step.event)}(${requestId})` : eventName(step.event);
}

/** What the replay did so far, and what the session's client must therefore see. */
interface World {
  rig: ConversationRig;
  log: MicrostepLog;
  threadId: string;
  sessionId: string;
  token: string;
  /** Every peer that attached to the session, the latest last; `attached` while it is. */
  peers: ProtocolPeer[];
  attached: boolean;
  /** The request the session streams: its real id, and whether its cancel was sent. */
  active: { id: string; cancelled: boolean } | null;
  /** Frames the session's client must have received by now. */
  owed: Frame[];
  counter: number;
  /** Server→client bytes held since the goodbye: the close handshake cannot complete. */
  held: boolean;
}

const peer = (world: World) => world.peers.at(-1) as ProtocolPeer;

/** The data frames the session's client holds, over all its sockets, each seq once. */
function heldSeqs(world: World): number[] {
  const seqs = new Set(world.peers.flatMap((p) => p.dataFrames().map((f) => f.seq as number)));
  return [...seqs].sort((a, b) => a - b);
}

/** The last contiguous seq the client holds: what it resumes from. */
function contiguousSeq(world: World): number {
  let last = 0;
  for (const seq of heldSeqs(world)) {
    if (seq !== last + 1) break;
    last = seq;
  }
  return last;
}

/** Whether the event of step `i` happens by itself once the steps before it are done. */
function happensByItself(path: ModelPath, i: number, world: World): boolean {
  const step = path.steps[i];
  const before = path.steps[i - 1];
  if (!step || !before) return false;
  // The client answers the server's close at once, unless the close is held up.
  return step.event.type === 'socket.detached' && before.state.matches('closing') && !world.held;
}

/** Moves the server's clock through a delay: nothing a millisecond early, the step right at it. */
function elapse(world: World, ms: number, what: string) {
  const taken = world.log.steps.length;
  world.rig.serverClock.increment(ms - 1);
  expect(world.log.steps.length, `${what} fired 1 ms early`).toBe(taken);
  world.rig.serverClock.increment(1);
}

async function act(path: ModelPath, i: number, world: World) {
  const step = path.steps[i] as PathStep;
  const before = path.steps[i - 1] as PathStep;
  const { rig } = world;
  if (happensByItself(path, i, world)) return;
  const { type, requestId } = step.event as { type: string; requestId?: string };
  switch (type) {
    case 'request.start': {
      const id = `request-${++world.counter}`;
      peer(world).send({ type: 'request', requestId: id, text: id });
      if (before.state.matches({ open: { work: 'idle' } })) {
        world.active = { id, cancelled: false };
        world.owed.push({ type: 'accepted', requestId: id }, { type: 'chunk', data: chunkOf(id) });
      } else {
        // Another request streams: refused, and not remembered, so it may come again.
        world.owed.push({ type: 'error', requestId: id, code: 'busy', retryable: true });
      }
      return;
    }
    case 'request.cancel': {
      if (requestId === Active && world.active) {
        peer(world).send({ type: 'cancel', requestId: world.active.id });
        world.active.cancelled = true;
        return;
      }
      const id = `${Unknown}-${++world.counter}`;
      peer(world).send({ type: 'cancel', requestId: id });
      world.owed.push({ type: 'error', requestId: id, code: 'unknown_request' });
      return;
    }
    case requestEnded.type: {
      const active = world.active;
      if (!active) throw new Error('no request streams');
      // The upstream ends the answer: it stops if it was cancelled, completes otherwise.
      const answer = await rig.upstream.answer(active.id);
      answer.end(active.cancelled ? 'stop' : 'finish');
      world.owed.push({ type: active.cancelled ? 'cancelled' : 'done', requestId: active.id });
      world.active = null;
      return;
    }
    case 'socket.detached': {
      const closed = peer(world).raw.closed;
      rig.proxy.sever();
      world.attached = false;
      await closed;
      return;
    }
    case 'socket.attached': {
      const resume = {
        sessionId: world.sessionId,
        token: world.token,
        lastSeq: contiguousSeq(world),
      };
      const next = await rig.openPeer(world.threadId, resume);
      expect(next.welcome.resumed, 'the session is resumed').toBe(true);
      world.peers.push(next);
      world.attached = true;
      return;
    }
    case sessionTtlElapsed.type:
      return elapse(world, conversationServer.sessionTtlMs, 'sessionTtl');
    case 'thread.bye': {
      const next = path.steps[i + 1]?.event.type;
      // A client that never gets the server's close (or a path that ends here): hold it up.
      if (next === undefined || next === closeTimeoutElapsed.type) {
        rig.proxy.holdDownstream();
        world.held = true;
      }
      peer(world).send({ type: 'bye' });
      return;
    }
    case closeTimeoutElapsed.type:
      return elapse(world, conversationServer.closeTimeoutMs, 'closeTimeout');
    default:
      throw new Error(`no real-world action produces ${type}`);
  }
}

/** What the session's client and an operator see while the session holds still. */
async function observe(path: ModelPath, i: number, world: World) {
  const step = path.steps[i] as PathStep;
  const what = `step ${i} (${stepName(step)}), holding still`;
  const { rig, sessionId } = world;
  const { gateway } = rig;
  if (step.state.matches('open')) {
    const snapshot = rig.sessionActor(sessionId)?.getSnapshot();
    expect(snapshot?.value, what).toEqual(step.state.value);
    const session = gateway.store.get(sessionId);
    if (!session) throw new Error(`${what}: the server no longer keeps the session`);
    if (world.attached) {
      await waitFor(() => gateway.connectionCount === 1, { what: `${what}: one connection` });
      expect(session.transport, what).not.toBeNull();
      // Everything owed arrived, and every data frame exactly once, in one contiguous run.
      for (const frame of world.owed) {
        await waitFor(() => world.peers.some((p) => p.has(frame)), {
          what: `${what}: the client got ${JSON.stringify(frame)}`,
        });
      }
      const expected = Array.from({ length: session.lastSeq }, (_, k) => k + 1);
      await waitFor(() => JSON.stringify(heldSeqs(world)) === JSON.stringify(expected), {
        what: `${what}: seqs 1..${session.lastSeq}, got ${JSON.stringify(heldSeqs(world))}`,
      });
    } else {
      await waitFor(() => gateway.connectionCount === 0, { what: `${what}: no connection` });
      expect(session.transport, what).toBeNull();
    }
    const request = rig.requestActor(sessionId)?.getSnapshot();
    if (world.active) {
      expect(snapshot?.context.activeRequestId, what).toBe(world.active.id);
      expect(request?.value, what).toBe(world.active.cancelled ? 'cancelRequested' : 'streaming');
    } else {
      expect(snapshot?.context.activeRequestId, what).toBeNull();
      expect(request, what).toBeUndefined();
    }
  } else if (step.state.matches('closing')) {
    expect(rig.sessionActor(sessionId)?.getSnapshot().value, what).toBe('closing');
    expect(gateway.store.get(sessionId), `${what}: kept until closed`).toBeDefined();
  } else {
    const reason = step.state.matches('expired') ? 'expired' : 'closed';
    expect(gateway.store.get(sessionId), `${what}: released`).toBeUndefined();
    expect(rig.sessionActor(sessionId), `${what}: its actor stopped`).toBeUndefined();
    // Nothing outlives the session: the answer it was streaming was told to stop.
    if (world.active) {
      const answer = rig.upstream.answers.get(world.active.id);
      expect(answer?.signal.aborted, `${what}: the upstream was told to stop`).toBe(true);
    }
    expect(await rig.metric(`sessions_${reason}_total`), what).toBe(1);
    expect(await rig.metric('requests_abandoned_total'), what).toBe(world.active ? 1 : 0);
    if (reason === 'closed' && !world.held) {
      expect((await peer(world).raw.closed).code, `${what}: closed normally`).toBe(1000);
    }
    // A late resume is told why it cannot have the session back.
    const late = await rig.openPeer(world.threadId, {
      sessionId,
      token: world.token,
      lastSeq: contiguousSeq(world),
    });
    expect(late.welcome.resumed, what).toBe(false);
    expect(late.welcome.lost, what).toEqual({
      reason: reason === 'expired' ? 'expired' : 'unknown',
    });
  }
  // Holding still means holding still: the chart took no transition the path did not ask for.
  expect(world.log.pending(), what).toEqual([]);
}

async function replay(path: ModelPath) {
  const rig = await startConversationRig();
  const threadId = 'model-thread';
  const first = await rig.openPeer(threadId);
  const sessionId = first.sessionId;
  const log = rig.serverLog(() => rig.sessionActor(sessionId));
  const world: World = {
    rig,
    log,
    threadId,
    sessionId,
    token: first.token,
    peers: [first],
    attached: true,
    active: null,
    owed: [],
    counter: 0,
    held: false,
  };
  const initial = rig.sessionActor(sessionId)?.getSnapshot();
  if (!initial) throw new Error('the hello made no session');
  expect(initial.value).toEqual(path.steps[0]?.state.value);
  const states = [activeNodeIds(initial)];
  const transitions: string[] = [];
  for (let i = 0; i < path.steps.length; i++) {
    const step = path.steps[i] as PathStep;
    const what = `step ${i} (${stepName(step)})`;
    if (i > 0) {
      await act(path, i, world);
      let real = await log.take(step.microsteps[0] ?? [], what);
      for (const microstep of step.microsteps.slice(1)) {
        states.push(real.nodes);
        real = await log.take(microstep, what);
      }
      expect(real.value, what).toEqual(step.state.value);
      states.push(real.nodes);
      transitions.push(...step.transitions);
    }
    if (!happensByItself(path, i + 1, world)) await observe(path, i, world);
  }
  coverage.coverStates(states.flat());
  coverage.coverTransitions(transitions);
  coverage.paths++;
}

describe('thread-lifecycle chart, replayed against the real server', () => {
  afterAll(async () => {
    await recordCoverage('thread-lifecycle', coverage.entry());
  });

  it('has paths through every transition of the chart', () => {
    const missed = transitionsOf(lifecycleChart).filter((t) => !generated.reachable.has(t.key));
    expect(missed.map((t) => t.label)).toEqual([]);
  });

  paths.forEach((path, index) => {
    const name = path.steps.map(stepName).join(' → ');
    it(`path ${index + 1} (${path.origin}): ${name}`, () => replay(path));
  });

  it('covered every state and transition against the real system', () => {
    expect(coverage.uncoveredStates()).toEqual([]);
    expect(coverage.uncoveredTransitions()).toEqual([]);
  });
});
