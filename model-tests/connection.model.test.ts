/**
 * Model-based test of the `connection` chart: every path from XState's graph utilities is
 * replayed against a real server and a real client over real sockets, through a fault proxy.
 * Each step performs what produces its event in the real world (a severed link, a blackholed
 * one, a clock moved past a timeout, another device resuming the session…), then checks that the
 * real client's chart took exactly the model's transition, and, where the state holds still,
 * what a user or operator would observe there.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { stateName } from '../client/index.ts';
import { retryDelayMs } from '../machines/backoff-schedule.ts';
import { CloseCode } from '../machines/close-codes.ts';
import type { ConnectionTimeouts } from '../machines/connection.ts';
import { waitFor } from '../test/support/harness.ts';
import { transitionsOf } from './support/chart-graph.ts';
import {
  AnswerDue,
  backoffScheduled,
  connectionChart,
  connectionModel,
  RetryDue,
  serverWelcome,
  socketClosed,
} from './support/connection-model.ts';
import { ChartCoverage, recordCoverage } from './support/coverage.ts';
import { activeNodeIds } from './support/microstep-log.ts';
import { eventName, type ModelPath, ModelTraversal, type PathStep } from './support/model-paths.ts';
import { rigBackoff, rigHeartbeatMs, rigRandom } from './support/rig-settings.ts';
import {
  type LinkPlan,
  type OpenThread,
  startThreadRig,
  type ThreadRig,
} from './support/thread-rig.ts';

const traversal = new ModelTraversal(connectionModel);
const generated = traversal.coveringPaths();
const opened = { type: 'socket.opened' };

/** Journeys worth replaying on their own, beyond what coverage needs. */
const scenarios: ModelPath[] = [
  // A client that forges its resume token is refused (4403) and stays refused.
  traversal.pathFromEvents([
    opened,
    socketClosed(CloseCode.Forbidden),
    { type: 'connection.retry' },
    { type: 'backoff.retry', attempt: 1 },
    opened,
    socketClosed(CloseCode.Forbidden),
    { type: 'connection.close' },
  ]),
  // A clean goodbye: the server answers `bye` by closing with 1000.
  traversal.pathFromEvents([
    opened,
    serverWelcome,
    { type: 'connection.close' },
    socketClosed(CloseCode.Normal),
  ]),
  // A goodbye the server never hears: the close timer ends it.
  traversal.pathFromEvents([
    opened,
    serverWelcome,
    { type: 'connection.close' },
    { type: 'xstate.after.closeTimeout.connection.linked.closing' },
  ]),
  // A dropped link heals: reconnect after the first delay and resume the session.
  traversal.pathFromEvents([
    opened,
    serverWelcome,
    socketClosed(CloseCode.Abnormal),
    backoffScheduled(1),
    { type: 'backoff.retry', attempt: 1 },
    opened,
    serverWelcome,
  ]),
];
const paths = [...generated.paths, ...scenarios];
const coverage = new ChartCoverage('connection', connectionChart);

const isLinked = (step: PathStep | undefined) => step?.state.matches('linked') === true;

/** How the link opened on entering `connecting` at step `j` must behave, for the steps after. */
function linkPlanFor(path: ModelPath, j: number): LinkPlan {
  const first = path.steps[j + 1]?.event;
  const second = path.steps[j + 2]?.event as { type: string; code?: number } | undefined;
  if (first?.type !== 'socket.opened')
    return first?.type === 'socket.closed' ? 'refuse' : 'blackhole';
  const answered = second?.type === 'server.welcome' || second?.code === CloseCode.Forbidden;
  return answered ? 'live' : 'muted';
}

/** Whether the event of step `i` happens by itself once the steps before it are done. */
function happensByItself(path: ModelPath, i: number, rig: ThreadRig): boolean {
  const step = path.steps[i];
  const before = path.steps[i - 1];
  if (!step || !before) return false;
  const { type, code } = step.event as { type: string; code?: number };
  switch (type) {
    case 'socket.opened':
    case 'server.welcome':
    case 'backoff.scheduled':
    case 'backoff.exhausted':
      return true;
    case 'backoff.retry':
      return before.phase === RetryDue;
    case 'socket.closed':
      if (code === CloseCode.Forbidden) return true;
      if (before.state.matches({ linked: 'connecting' })) return true; // refused
      return before.state.matches({ linked: 'closing' }) && rig.link === 'live'; // answers bye
    default:
      return false;
  }
}

/** Performs what makes the real system produce the event of step `i`. */
async function act(path: ModelPath, i: number, rig: ThreadRig, thread: OpenThread) {
  const step = path.steps[i] as PathStep;
  const before = path.steps[i - 1] as PathStep;
  const { client } = thread;
  if (!isLinked(before)) {
    // The next link is made from here: shape it for the steps that follow it.
    let j = i;
    while (path.steps[j] && !isLinked(path.steps[j]) && path.steps[j + 1]) j++;
    rig.plan(isLinked(path.steps[j]) ? linkPlanFor(path, j) : 'blackhole');
  }
  if (happensByItself(path, i, rig)) return;
  const { type, code } = step.event as { type: string; code?: number };
  const delay = /^xstate\.after\.([^.]+)\./.exec(type)?.[1];
  if (delay) {
    // The model's delay (the server's welcome set the silence limit): nothing a millisecond
    // early, the transition right at it.
    const timeouts: ConnectionTimeouts = before.state.context.timeouts;
    const ms = timeouts[`${delay}Ms` as keyof ConnectionTimeouts];
    const taken = thread.connection.steps.length;
    rig.clientClock.increment(ms - 1);
    expect(thread.connection.steps.length, `${delay} fired 1 ms early`).toBe(taken);
    rig.clientClock.increment(1);
    return;
  }
  switch (type) {
    case 'socket.closed':
      if (code === CloseCode.Superseded) return thread.supersede();
      rig.proxy.sever();
      return;
    case 'server.ping':
      rig.serverClock.increment(rigHeartbeatMs);
      return;
    case 'connection.retry':
      return client.retry();
    case 'connection.close': {
      const next = path.steps[i + 1]?.event.type;
      // A server that never hears the goodbye (or a path that ends here): stop the bytes first.
      const unheard = next === undefined || next.startsWith('xstate.after.closeTimeout');
      if (unheard && rig.link === 'live') rig.plan('blackhole');
      return thread.close();
    }
    case 'backoff.retry': {
      // The delay the model expects the backoff to have chosen: no attempt a millisecond early.
      const delayMs: number = before.state.context.retryDelayMs;
      const taken = thread.connection.steps.length;
      rig.clientClock.increment(delayMs - 1);
      expect(thread.connection.steps.length, 'retried 1 ms early').toBe(taken);
      rig.clientClock.increment(1);
      return;
    }
    default:
      throw new Error(`no real-world action produces ${type}`);
  }
}

/** What a user or operator can see while the client holds still in the step's state. */
async function observe(path: ModelPath, i: number, rig: ThreadRig, thread: OpenThread) {
  const step = path.steps[i] as PathStep;
  const what = `step ${i} (${eventName(step.event)}), holding still`;
  const { client } = thread;
  const { proxy, server } = rig;
  const gateway = server.app.threadline;
  const snapshot = client.actor.getSnapshot();
  expect(stateName(snapshot), what).toBe(stateName(step.state));
  expect(client.status().attempt, what).toBe(step.state.context.attempt);
  const sockets = (links: number, onServer: number) =>
    waitFor(() => proxy.links.size === links && gateway.connectionCount === onServer, {
      what: `${what}: ${links} proxy link(s), ${onServer} server connection(s)`,
    });
  if (step.state.matches({ linked: 'connecting' })) await sockets(1, 0);
  else if (step.state.matches({ linked: 'open' })) await sockets(1, 1);
  else if (step.state.matches({ linked: 'closing' })) {
    // Whatever was open stays open until the close: no upgrade yet if it was still connecting.
    const from = path.steps[i - 1]?.state;
    await sockets(1, from?.matches({ linked: 'connecting' }) ? 0 : 1);
  } else await sockets(0, 0);
  if (step.state.matches({ linked: { open: 'ready' } })) {
    const sessionId = client.resumeInfo()?.sessionId ?? '';
    expect(gateway.store.get(sessionId), `${what}: the server keeps the session`).toBeDefined();
    // Sessions outlive this rig's outages (their TTL runs on a clock nobody moves): every
    // handshake after the first resumes the same session.
    const { resumed, connections } = snapshot.context;
    expect(resumed, `${what}: resumed`).toBe(connections > 1);
  }
  if (step.state.matches('reconnecting')) {
    const delay = retryDelayMs(step.state.context.attempt, rigBackoff, rigRandom);
    expect(client.status().nextRetryAt, what).toBe(rig.clientClock.now() + delay);
  }
  if (step.state.matches('failed')) expect(client.status().nextRetryAt, what).toBeNull();
  if (step.state.matches('closed')) {
    expect(snapshot.status, what).toBe('done');
    await thread.closing;
  }
  // Holding still means holding still: the chart took no transition the path did not ask for.
  expect(thread.connection.pending(), what).toEqual([]);
}

/** The close code the real client records on this step, when the step records one. */
function expectedCloseCode(path: ModelPath, i: number, rig: ThreadRig): number | undefined {
  const step = path.steps[i] as PathStep;
  const before = path.steps[i - 1] as PathStep;
  const { type, code } = step.event as { type: string; code?: number };
  if (type === 'socket.closed') {
    if (!before.state.matches({ linked: 'closing' })) return code;
    return rig.link === 'live' ? CloseCode.Normal : CloseCode.Abnormal;
  }
  if (/^xstate\.after\.(connectTimeout|handshakeTimeout|silenceLimit)\./.test(type)) {
    return CloseCode.Timeout;
  }
  return undefined;
}

async function replay(path: ModelPath) {
  const rig = await startThreadRig();
  const forged = path.steps.some(
    (step) => (step.event as { code?: number }).code === CloseCode.Forbidden,
  );
  const resume = forged
    ? { sessionId: await rig.decoySession(), token: 'forged-token', lastSeq: 0 }
    : undefined;
  rig.plan(isLinked(path.steps[0]) ? linkPlanFor(path, 0) : 'blackhole');
  const thread = await rig.open(resume ? { resume } : {});
  const initial = thread.client.actor.getSnapshot();
  expect(initial.value).toEqual(path.steps[0]?.state.value);
  const states = [activeNodeIds(initial)];
  const transitions: string[] = [];
  for (let i = 0; i < path.steps.length; i++) {
    const step = path.steps[i] as PathStep;
    const what = `step ${i} (${eventName(step.event)})`;
    if (i > 0) {
      await act(path, i, rig, thread);
      let real = await thread.connection.take(step.microsteps[0] ?? [], what);
      for (const microstep of step.microsteps.slice(1)) {
        real = await thread.connection.take(microstep, what);
        states.push(real.nodes);
      }
      expect(real.value, what).toEqual(step.state.value);
      const context = real.context as { attempt: number; lastCloseCode: number | null };
      expect(context.attempt, what).toBe(step.state.context.attempt);
      const code = expectedCloseCode(path, i, rig);
      if (code !== undefined) expect(context.lastCloseCode, what).toBe(code);
      states.push(real.nodes);
      transitions.push(...step.transitions);
    }
    const holdsStill =
      path.steps[i + 1] === undefined
        ? step.phase !== AnswerDue && step.phase !== RetryDue
        : !happensByItself(path, i + 1, rig);
    if (holdsStill) await observe(path, i, rig, thread);
  }
  coverage.coverStates(states.flat());
  coverage.coverTransitions(transitions);
  coverage.paths++;
}

describe('connection chart, replayed against the real server and client', () => {
  afterAll(async () => {
    await recordCoverage('connection', coverage.entry());
  });

  it('has paths through every transition of the chart', () => {
    const missed = transitionsOf(connectionChart).filter((t) => !generated.reachable.has(t.key));
    expect(missed.map((t) => t.label)).toEqual([]);
  });

  paths.forEach((path, index) => {
    it(`path ${index + 1} (${path.origin}): ${path.name}`, () => replay(path));
  });

  it('covered every state and transition against the real system', () => {
    expect(coverage.uncoveredStates()).toEqual([]);
    expect(coverage.uncoveredTransitions()).toEqual([]);
  });
});
