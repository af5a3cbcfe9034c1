/**
 * Model-based test of the `reconnection-backoff` chart, driven through the real client it lives
 * in (the connection chart's `backoff` child) against a real server over a fault proxy. Each step
 * does what makes the connection talk to its backoff (a dropped link, a welcome, a press on
 * "retry", time passing), checks that the real child took exactly the model's transition, and
 * checks what follows in the real world: when a new connection is made, after which delay, and
 * that none is made once the attempts are exhausted.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { retryDelayMs } from '../machines/backoff-schedule.ts';
import { waitFor } from '../test/support/harness.ts';
import {
  backoffChart,
  backoffModel,
  Connecting,
  Ready,
  unreachableThroughTheClient,
} from './support/backoff-model.ts';
import { transitionsOf } from './support/chart-graph.ts';
import { ChartCoverage, recordCoverage } from './support/coverage.ts';
import { activeNodeIds } from './support/microstep-log.ts';
import { eventName, type ModelPath, ModelTraversal, type PathStep } from './support/model-paths.ts';
import { rigBackoff, rigRandom } from './support/rig-settings.ts';
import { type OpenThread, startThreadRig, type ThreadRig } from './support/thread-rig.ts';

const traversal = new ModelTraversal(backoffModel);
const generated = traversal.coveringPaths();
const coverage = new ChartCoverage('reconnection-backoff', backoffChart);

/** The backoff child of the real client's connection. */
function realBackoff(thread: OpenThread) {
  const child = thread.client.actor.getSnapshot().children.backoff;
  if (!child) throw new Error('the connection has no backoff child');
  return child;
}

/** Whether step `i` makes a new link (the initial one, or an attempt the backoff asks for). */
const makesLink = (step: PathStep | undefined) => step?.phase === Connecting;

/** A link that the next step will see welcomed is let through; any other is held unopened. */
function planLink(path: ModelPath, i: number, rig: ThreadRig) {
  rig.plan(path.steps[i + 1]?.event.type === 'backoff.reset' ? 'live' : 'blackhole');
}

async function act(path: ModelPath, i: number, rig: ThreadRig, thread: OpenThread) {
  const step = path.steps[i] as PathStep;
  const before = path.steps[i - 1] as PathStep;
  const { client } = thread;
  const what = `step ${i} (${eventName(step.event)})`;
  switch (step.event.type) {
    case 'backoff.schedule':
      // The link drops, held unopened or in use: the connection asks for a retry.
      rig.proxy.sever();
      return;
    case 'backoff.reset':
      return; // the live link is welcomed by itself
    case 'backoff.retryNow':
      if (before.state.matches('idle')) {
        // Idle with the connection up: only a fatal close (another device took the session)
        // leaves the connection failed with the backoff untouched.
        await thread.supersede();
        await waitFor(() => client.status().connection === 'failed', { what: `${what}: failed` });
      }
      planLink(path, i, rig);
      client.retry();
      return;
    default: {
      // The retry delay: nothing happens a millisecond before it ends, an attempt right at it.
      const { delayMs } = realBackoff(thread).getSnapshot().context;
      if (delayMs === null) throw new Error(`${what}: no delay is pending`);
      planLink(path, i, rig);
      const accepted = rig.proxy.accepted;
      rig.clientClock.increment(delayMs - 1);
      expect(realBackoff(thread).getSnapshot().value, `${what}: 1 ms early`).toBe('waiting');
      expect(client.status().connection, `${what}: 1 ms early`).toBe('reconnecting');
      expect(rig.proxy.accepted, `${what}: 1 ms early`).toBe(accepted);
      rig.clientClock.increment(1);
    }
  }
}

async function observe(step: PathStep, rig: ThreadRig, thread: OpenThread, links: number) {
  const { client } = thread;
  const backoff = realBackoff(thread).getSnapshot();
  const attempt: number = step.state.context.attempt;
  const what = `${eventName(step.event)}, holding still`;
  expect(backoff.value, what).toEqual(step.state.value);
  expect(backoff.context.attempt, what).toBe(attempt);
  expect(client.status().attempt, what).toBe(attempt);
  // Every link the client opened reached the proxy, and no other.
  await waitFor(() => rig.proxy.accepted === links, { what: `${what}: ${links} links made` });
  if (step.state.matches('idle')) {
    const connection = step.phase === Ready ? 'linked.open.ready' : 'linked.connecting';
    expect(client.status().connection, what).toBe(connection);
    expect(client.status().nextRetryAt, what).toBeNull();
    await waitFor(() => rig.proxy.links.size === 1, { what: `${what}: one open link` });
  } else if (step.state.matches('waiting')) {
    const delayMs = retryDelayMs(attempt, rigBackoff, rigRandom);
    expect(backoff.context.delayMs, what).toBe(delayMs);
    expect(backoff.context.retryAt, what).toBe(rig.clientClock.now() + delayMs);
    expect(client.status().nextRetryAt, what).toBe(backoff.context.retryAt);
    expect(client.status().connection, what).toBe('reconnecting');
    await waitFor(() => rig.proxy.links.size === 0, { what: `${what}: no open link` });
  } else {
    expect(client.status().connection, what).toBe('failed');
    expect(client.status().nextRetryAt, what).toBeNull();
    await waitFor(() => rig.proxy.links.size === 0, { what: `${what}: no open link` });
    // Given up: however long we wait, no attempt comes by itself.
    rig.clientClock.increment(rigBackoff.maxDelayMs * 2);
    expect(client.status().connection, `${what}: much later`).toBe('failed');
    expect(rig.proxy.accepted, `${what}: much later`).toBe(links);
  }
  // Holding still means holding still: the chart took no transition the path did not ask for.
  expect(thread.backoff.pending(), what).toEqual([]);
}

async function replay(path: ModelPath) {
  const rig = await startThreadRig();
  planLink(path, 0, rig);
  const thread = await rig.open();
  let links = 1;
  const initial = realBackoff(thread).getSnapshot();
  expect(initial.value).toEqual(path.steps[0]?.state.value);
  const states = [activeNodeIds(initial)];
  const transitions: string[] = [];
  for (let i = 0; i < path.steps.length; i++) {
    const step = path.steps[i] as PathStep;
    if (i > 0) {
      await act(path, i, rig, thread);
      if (makesLink(step)) links++;
      const what = `step ${i} (${eventName(step.event)})`;
      let real = await thread.backoff.take(step.microsteps[0] ?? [], what);
      for (const microstep of step.microsteps.slice(1)) {
        real = await thread.backoff.take(microstep, what);
        states.push(real.nodes);
      }
      expect(real.value, what).toEqual(step.state.value);
      expect((real.context as { attempt: number }).attempt, what).toBe(step.state.context.attempt);
      states.push(real.nodes);
      transitions.push(...step.transitions);
    }
    const welcomedNext = path.steps[i + 1]?.event.type === 'backoff.reset';
    if (!welcomedNext) await observe(step, rig, thread, links);
  }
  coverage.coverStates(states.flat());
  coverage.coverTransitions(transitions);
  coverage.paths++;
}

describe('reconnection-backoff chart, driven through the real client', () => {
  afterAll(async () => {
    await recordCoverage('reconnection-backoff', coverage.entry());
  });

  it('has paths through every transition the client can produce', () => {
    const missed = transitionsOf(backoffChart).filter((t) => !generated.reachable.has(t.key));
    expect(missed.map((t) => t.key).sort()).toEqual(
      Object.keys(unreachableThroughTheClient).sort(),
    );
  });

  generated.paths.forEach((path, index) => {
    it(`path ${index + 1} (${path.origin}): ${path.name}`, () => replay(path));
  });

  it('covered every state and transition against the real system', () => {
    expect(coverage.uncoveredStates()).toEqual([]);
    const missed = transitionsOf(backoffChart)
      .filter((t) => coverage.uncoveredTransitions().includes(t.label))
      .map((t) => `${t.label}: ${unreachableThroughTheClient[t.key] ?? 'not replayed'}`);
    expect(missed).toEqual([]);
  });
});
