/**
 * Model-based test of the `circuit-breaker` chart: every path from XState's graph utilities is
 * replayed against a real server (openai responder, breaker defaults: 5 failures, 30 s cool-down)
 * in front of a real loopback OpenAI-compatible upstream. The upstream holds each call until the
 * step decides its fate (answer it, fail it with a 500), so a trial can be observed in flight.
 * The server runs on a simulated clock, so the cool-down is exactly 30 s of it.
 *
 * Each step does what produces its event in the real world (a request the upstream answers or
 * fails, a trial started or cancelled, the clock moved past the cool-down), checks that the real
 * breaker took exactly the model's transition, then checks what a client observes: status
 * frames, a probe request failing fast with `upstream_unavailable` and `retryAfterMs` while the
 * breaker is open or its trial in flight, and that such a probe never reaches the upstream.
 *
 * A verdict can also reach a half-open breaker that has no trial in flight, from a call that began
 * before it opened; it takes the same transitions as the trial's verdict, so the model leaves it
 * to the trial.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { type AnyMachineSnapshot, type EventObject, SimulatedClock } from 'xstate';
import type { RequestHandle } from '../client/request-handle.ts';
import { machines } from '../machines/index.ts';
import { TRIAL_RETRY_AFTER_MS } from '../server/breaker/breaker-protection.ts';
import { dispose, startServer, type TestServer, waitFor } from '../test/support/harness.ts';
import { openWatchingClient, type WatchingClient } from '../test/thermal/protection-harness.ts';
import { generatedEventTypes, transitionsOf } from './support/chart-graph.ts';
import { ChartCoverage, recordCoverage } from './support/coverage.ts';
import { activeNodeIds, MicrostepLog } from './support/microstep-log.ts';
import { eventName, type ModelPath, ModelTraversal, type PathStep } from './support/model-paths.ts';

const breakerChart = machines['circuit-breaker'];
const input = { failureThreshold: 5, cooldownMs: 30_000 };
const cooldownEvent = generatedEventTypes(breakerChart)[0] ?? '';

const breakerModel = {
  machine: breakerChart.provide({
    actions: { logOpened: () => {}, logHalfOpen: () => {}, logClosed: () => {} },
  }),
  input,
  identify: (snapshot: AnyMachineSnapshot) => ({
    value: snapshot.value,
    failures: snapshot.context.failures,
  }),
  events: (snapshot: AnyMachineSnapshot): EventObject[] => {
    const succeeded = { type: 'upstream.succeeded' };
    const failed = { type: 'upstream.failed', at: 0 };
    // Half-open, only the trial (or a call begun before the breaker opened) brings a verdict.
    if (snapshot.matches('closed')) return [succeeded, failed];
    if (snapshot.matches('open')) return [{ type: cooldownEvent }];
    if (snapshot.matches({ halfOpen: 'ready' })) return [{ type: 'trial.started' }];
    return [succeeded, failed, { type: 'trial.abandoned' }];
  },
};

const traversal = new ModelTraversal(breakerModel);
const generated = traversal.coveringPaths();
const succeeded = { type: 'upstream.succeeded' };
const failed = { type: 'upstream.failed', at: 0 };
const cooled = { type: cooldownEvent };
const trial = { type: 'trial.started' };
const failures = (count: number) => Array.from({ length: count }, () => failed);

/** Journeys worth replaying whole, beyond what coverage needs. */
const scenarios: ModelPath[] = [
  // Only consecutive failures count: a success in between starts the count again.
  traversal.pathFromEvents([...failures(4), succeeded, ...failures(4), succeeded, ...failures(5)]),
  // A failed trial, an abandoned one, then a good one; closed, the count starts from zero.
  traversal.pathFromEvents([
    ...failures(5),
    cooled,
    trial,
    failed,
    cooled,
    trial,
    { type: 'trial.abandoned' },
    trial,
    succeeded,
    ...failures(4),
  ]),
];
const paths = [...generated.paths, ...scenarios];
const coverage = new ChartCoverage('circuit-breaker', breakerChart);

/** `4× upstream.failed → upstream.succeeded → …`: the path's events, runs counted. */
function title(path: ModelPath): string {
  const names = path.steps.slice(1).map((step) => eventName(step.event));
  const runs: string[] = [];
  for (let i = 0; i < names.length; ) {
    let j = i;
    while (names[j] === names[i]) j++;
    runs.push(j - i > 1 ? `${j - i}× ${names[i]}` : (names[i] ?? ''));
    i = j;
  }
  return runs.join(' → ');
}

// ---------------------------------------------------------------- the upstream

interface HeldCall {
  /** Answers the call with a short streamed completion. */
  answer(): void;
  /** Fails the call with HTTP 500. */
  fail(): void;
  /** The client went away before the call was decided. */
  readonly aborted: boolean;
}

/** An OpenAI-compatible upstream that holds every call until the test decides it. */
async function startHeldUpstream() {
  const calls: HeldCall[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      let aborted = false;
      res.on('close', () => {
        if (!res.writableFinished) aborted = true;
      });
      calls.push({
        answer() {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          const chunk = (delta: object, finish: string | null) =>
            `data: ${JSON.stringify({
              id: 'chatcmpl-held',
              object: 'chat.completion.chunk',
              created: 0,
              model: 'held',
              choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
            })}\n\n`;
          res.write(chunk({ role: 'assistant', content: 'ok' }, null));
          res.end(`${chunk({}, 'stop')}data: [DONE]\n\n`);
        },
        fail() {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: 'held upstream failed', type: 'test' } }));
        },
        get aborted() {
          return aborted;
        },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  dispose(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${port}/v1`, calls };
}

// ---------------------------------------------------------------- the replay

interface Rig {
  server: TestServer;
  clock: SimulatedClock;
  upstream: Awaited<ReturnType<typeof startHeldUpstream>>;
  /** The client whose requests drive the path. */
  main: WatchingClient;
  /** Another thread, for requests that must not disturb the breaker. */
  probe: WatchingClient;
  log: MicrostepLog;
  /** The trial in flight, if any. */
  trial: RequestHandle | null;
  /** When the breaker last opened, on the server clock. */
  openedAt: number;
}

const topState = (snapshot: AnyMachineSnapshot) =>
  typeof snapshot.value === 'string' ? snapshot.value : (Object.keys(snapshot.value)[0] ?? '');

/** Sends a request through the main client and waits for the upstream to hold it. */
async function call(rig: Rig, what: string): Promise<{ handle: RequestHandle; held: HeldCall }> {
  const count = rig.upstream.calls.length;
  const handle = rig.main.client.request('hello');
  await waitFor(() => rig.upstream.calls.length === count + 1, { what: `${what}: the call` });
  return { handle, held: rig.upstream.calls[count] as HeldCall };
}

async function act(rig: Rig, step: PathStep, before: PathStep, what: string) {
  const { event } = step;
  if (event.type === cooldownEvent) {
    // Nothing a millisecond before the cool-down ends; half-open right at it.
    const left = input.cooldownMs - (rig.clock.now() - rig.openedAt);
    rig.clock.increment(left - 1);
    const early = await rig.probe.client.request('hello').result;
    expect(early.error, `${what}: 1 ms early`).toMatchObject({
      code: 'upstream_unavailable',
      retryAfterMs: 1,
    });
    rig.clock.increment(1);
    return;
  }
  if (event.type === 'trial.started') {
    rig.trial = (await call(rig, what)).handle;
    return;
  }
  if (before.state.matches({ halfOpen: 'trying' })) {
    const trial = rig.trial;
    const held = rig.upstream.calls.at(-1);
    if (!trial || !held) throw new Error(`${what}: no trial in flight`);
    rig.trial = null;
    if (event.type === 'trial.abandoned') {
      trial.cancel();
      expect((await trial.result).status, what).toBe('cancelled');
      await waitFor(() => held.aborted, { what: `${what}: the upstream sees the cancel` });
      return;
    }
    if (event.type === 'upstream.succeeded') held.answer();
    else held.fail();
    return expectOutcome(await trial.result, event, rig, what);
  }
  const { handle, held } = await call(rig, what);
  if (event.type === 'upstream.succeeded') held.answer();
  else held.fail();
  expectOutcome(await handle.result, event, rig, what);
}

function expectOutcome(
  result: Awaited<RequestHandle['result']>,
  event: EventObject,
  rig: Rig,
  what: string,
) {
  if (event.type === 'upstream.succeeded') {
    expect(result, what).toEqual({ status: 'done', text: 'ok' });
    return;
  }
  expect(result.status, what).toBe('failed');
  expect(result.error, what).toMatchObject({ code: 'upstream_unavailable', retryable: true });
  // The failure that opens the breaker already says when to come back.
  const opens = rig.server.app.threadline.breaker.state === 'open';
  expect(result.error?.retryAfterMs, what).toBe(opens ? input.cooldownMs : undefined);
  if (opens) rig.openedAt = rig.clock.now();
}

async function observe(rig: Rig, step: PathStep, what: string) {
  const state = topState(step.state);
  const { server, main, probe, upstream } = rig;
  expect(server.app.threadline.breaker.state, what).toBe(state);
  await waitFor(() => main.breakerState() === state, { what: `${what}: status ${state}` });
  await waitFor(() => probe.breakerState() === state, { what: `${what}: probe status ${state}` });
  const calls = upstream.calls.length;
  if (step.state.matches('open')) {
    expect(main.statuses().at(-1)?.breaker, what).toEqual({
      state: 'open',
      retryAfterMs: input.cooldownMs,
    });
    const refused = await probe.client.request('hello').result;
    expect(refused.error, `${what}: probe`).toMatchObject({
      code: 'upstream_unavailable',
      retryable: true,
      retryAfterMs: input.cooldownMs - (rig.clock.now() - rig.openedAt),
    });
    expect(refused.error?.message, `${what}: probe`).toMatch(/circuit breaker is open/);
  } else if (step.state.matches({ halfOpen: 'trying' })) {
    const refused = await probe.client.request('hello').result;
    expect(refused.error, `${what}: probe`).toMatchObject({
      code: 'upstream_unavailable',
      retryAfterMs: TRIAL_RETRY_AFTER_MS,
    });
    expect(refused.error?.message, `${what}: probe`).toMatch(/half-open/);
  }
  // Failing fast means the upstream never heard of it.
  expect(upstream.calls.length, `${what}: upstream calls`).toBe(calls);
  expect(rig.log.pending(), what).toEqual([]);
}

async function replay(path: ModelPath) {
  const clock = new SimulatedClock();
  const upstream = await startHeldUpstream();
  const server = await startServer(
    {
      responder: 'openai',
      openaiBaseUrl: upstream.url,
      breakerFailureThreshold: input.failureThreshold,
      breakerCooldownMs: input.cooldownMs,
      // Only the breaker's cool-down runs on the simulated clock in practice: no server timer
      // that a 30 s step could fire (heartbeat, silence limit) is left within reach.
      heartbeatIntervalMs: 3_600_000,
      silenceLimitMs: 7_200_000,
    },
    { clock },
  );
  const root = server.app.threadline.root;
  const log = new MicrostepLog(root.system, () => root.system.get('breaker'));
  const main = openWatchingClient(server.url);
  const probe = openWatchingClient(server.url);
  const rig: Rig = { server, clock, upstream, main, probe, log, trial: null, openedAt: 0 };
  const breaker = root.system.get('breaker');
  if (!breaker) throw new Error('the server runs no breaker');
  const initial = breaker.getSnapshot() as AnyMachineSnapshot;
  expect(initial.value).toEqual(path.steps[0]?.state.value);
  const states = [activeNodeIds(initial)];
  const transitions: string[] = [];
  await observe(rig, path.steps[0] as PathStep, 'initially');
  for (let i = 1; i < path.steps.length; i++) {
    const step = path.steps[i] as PathStep;
    const what = `step ${i} (${eventName(step.event)})`;
    await act(rig, step, path.steps[i - 1] as PathStep, what);
    let real = await log.take(step.microsteps[0] ?? [], what);
    for (const microstep of step.microsteps.slice(1)) real = await log.take(microstep, what);
    expect(real.value, what).toEqual(step.state.value);
    expect((real.context as { failures: number }).failures, what).toBe(step.state.context.failures);
    states.push(real.nodes);
    transitions.push(...step.transitions);
    await observe(rig, step, what);
  }
  log.stop();
  coverage.coverStates(states.flat());
  coverage.coverTransitions(transitions);
  coverage.paths++;
}

describe('circuit-breaker chart, against a real server and a real loopback upstream', () => {
  afterAll(async () => {
    await recordCoverage('circuit-breaker', coverage.entry());
  });

  it('has paths through every transition of the chart', () => {
    const missed = transitionsOf(breakerChart).filter((t) => !generated.reachable.has(t.key));
    expect(missed.map((t) => t.label)).toEqual([]);
  });

  paths.forEach((path, index) => {
    it(`path ${index + 1} (${path.origin}): ${title(path)}`, () => replay(path));
  });

  it('covered every state and transition against the real system', () => {
    expect(coverage.uncoveredStates()).toEqual([]);
    expect(coverage.uncoveredTransitions()).toEqual([]);
  });
});
