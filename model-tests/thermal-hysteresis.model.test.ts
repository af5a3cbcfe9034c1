/**
 * Model-based test of the `thermal-hysteresis` chart: every path from XState's graph utilities is
 * replayed against a real server reading a real sensor file. Each step writes what the sensor
 * would hold (a temperature in millidegrees, or no readable file), checks that the server's real
 * thermal actor took exactly the model's transition, then checks what a client and an operator
 * observe in that state: the status frames (one per change of level, none otherwise), whether a
 * new request is served or refused as `overheated`, and the gateway's reported temperature.
 *
 * The model's state is the chart's value and its last reading: the real sensor actor reports only
 * readings that differ from the one before, so a path never repeats the current reading.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type {
  AnyActorRef,
  AnyMachineSnapshot,
  EventObject,
  InspectionEvent,
  Observer,
} from 'xstate';
import { machines } from '../machines/index.ts';
import type { ThermalHysteresisInput } from '../machines/thermal-hysteresis.ts';
import { startServer, type TestServer, waitFor } from '../test/support/harness.ts';
import {
  createSensorFile,
  openWatchingClient,
  type SensorFile,
  type WatchingClient,
} from '../test/thermal/protection-harness.ts';
import { transitionsOf } from './support/chart-graph.ts';
import { ChartCoverage, recordCoverage } from './support/coverage.ts';
import { activeNodeIds, MicrostepLog } from './support/microstep-log.ts';
import {
  type ChartModel,
  eventName,
  type ModelPath,
  ModelTraversal,
  type PathStep,
} from './support/model-paths.ts';

const thermalChart = machines['thermal-hysteresis'];

const input: ThermalHysteresisInput = {
  throttleAtCelsius: 85,
  resumeAtCelsius: 80,
  criticalAtCelsius: 90,
  pollMs: 20,
};

/**
 * Readings that reach every guard on both sides of every threshold: cool (70), exactly the
 * resume point (80), inside the band (82, 84), exactly the trigger (85), between trigger and
 * critical (87), exactly critical (90).
 */
const readings = [70, 80, 82, 84, 85, 87, 90];
const failed = { type: 'sensor.failed', reason: 'no readable sensor' };

const thermalModel: ChartModel = {
  machine: thermalChart.provide({
    actions: {
      logSensorMissing: () => {},
      logSensorRestored: () => {},
      logProtectionStarted: () => {},
      logProtectionEnded: () => {},
      logCritical: () => {},
    },
  }),
  input,
  identify: (snapshot) => ({ value: snapshot.value, celsius: snapshot.context.celsius }),
  events: (snapshot: AnyMachineSnapshot): EventObject[] => [
    ...readings
      .filter((celsius) => celsius !== snapshot.context.celsius)
      .map((celsius) => ({ type: 'sensor.read', celsius })),
    failed,
  ],
};

const traversal = new ModelTraversal(thermalModel);
const generated = traversal.coveringPaths();
const read = (celsius: number) => ({ type: 'sensor.read', celsius });

/** Journeys worth replaying whole, beyond what coverage needs: the acceptance. */
const scenarios: ModelPath[] = [
  // Climbs past 85 °C, jitters between 81 and 84 °C both ways without flapping, resumes at 80.0.
  traversal.pathFromEvents(
    [70, 81, 84, 82.5, 84, 85, 84, 81, 83, 81.5, 84, 80, 81, 84, 83].map(read),
  ),
  // Critical and back down through every level; critical straight from normal.
  traversal.pathFromEvents([70, 86, 90, 87, 85, 84, 90, 81, 79, 95, 80].map(read)),
  // The sensor vanishes while hot (service resumes), comes back hot, and vanishes again.
  traversal.pathFromEvents([read(86), failed, read(86), failed, read(70), failed, read(84)]),
];
const paths = [...generated.paths, ...scenarios];
const coverage = new ChartCoverage('thermal-hysteresis', thermalChart);

/** The status frame's name for a chart value: its top-level state. */
function level(snapshot: AnyMachineSnapshot): string {
  return typeof snapshot.value === 'string'
    ? snapshot.value
    : (Object.keys(snapshot.value)[0] ?? '');
}

/** `70 °C → 85 °C → no sensor`: the path as the sensor file goes. */
function title(path: ModelPath): string {
  return path.steps
    .slice(1)
    .map(({ event }) => ('celsius' in event ? `${String(event.celsius)} °C` : 'no sensor'))
    .join(' → ');
}

/** Puts the sensor in the state the step's event reports. */
async function sense(sensor: SensorFile, event: EventObject, index: number) {
  if ('celsius' in event && typeof event.celsius === 'number') return sensor.write(event.celsius);
  // Both ways a sensor fails: the file vanishes, or it holds no reading.
  return index % 2 === 0 ? sensor.remove() : sensor.garble();
}

/**
 * The server's actor system seen from its first event: the thermal actor reads its sensor as it
 * starts, before a test could subscribe, so its inspection is wired in through `buildServer`.
 */
function earlyInspection() {
  const observers = new Set<(event: InspectionEvent) => void>();
  let thermal: AnyActorRef | undefined;
  const isThermal = (actor: unknown): actor is AnyActorRef =>
    (actor as { id?: unknown }).id === 'thermal';
  let initial: AnyMachineSnapshot | undefined;
  const inspect = (event: InspectionEvent) => {
    if (event.type === '@xstate.actor' && isThermal(event.actorRef)) thermal = event.actorRef;
    if (
      event.type === '@xstate.snapshot' &&
      event.actorRef === thermal &&
      event.event.type === 'xstate.init'
    ) {
      initial = event.snapshot as AnyMachineSnapshot;
    }
    for (const observer of observers) observer(event);
  };
  const system = {
    inspect(observer: Observer<InspectionEvent> | ((event: InspectionEvent) => void)) {
      const next =
        typeof observer === 'function'
          ? observer
          : (event: InspectionEvent) => observer.next?.(event);
      observers.add(next);
      return { unsubscribe: () => observers.delete(next) };
    },
  } as unknown as AnyActorRef['system'];
  const log = new MicrostepLog(system, () => thermal);
  return { inspect, log, initial: () => initial };
}

interface Rig {
  server: TestServer;
  sensor: SensorFile;
  log: MicrostepLog;
  watcher: WatchingClient;
  /** Status frames the client should have had so far. */
  frames: number;
}

async function observe(rig: Rig, step: PathStep, what: string) {
  const { server, watcher } = rig;
  const state = level(step.state);
  const celsius: number = step.state.context.celsius;
  // What an operator reads: the gateway's status (the metrics' source) has this very reading.
  expect(server.app.threadline.thermal.status(), what).toEqual({ state, celsius });
  // What a client sees: a status frame per change of level, and none for anything else.
  await waitFor(() => watcher.statuses().length >= rig.frames, { what: `${what}: status frame` });
  expect(watcher.statuses().length, `${what}: status frames`).toBe(rig.frames);
  expect(watcher.thermalState(), what).toBe(state);
  const result = await watcher.client.request('2').result;
  if (state === 'throttled' || state === 'critical') {
    expect(result.status, `${what}: a new request`).toBe('failed');
    expect(result.error, `${what}: a new request`).toMatchObject({
      code: 'overheated',
      retryable: true,
      retryAfterMs: server.config.overheatedRetryAfterMs,
    });
  } else {
    expect(result, `${what}: a new request`).toEqual({ status: 'done', text: '0\n1\n' });
  }
  // Holding still means holding still: nothing happened that the path did not ask for.
  expect(rig.log.pending(), what).toEqual([]);
}

async function replay(path: ModelPath) {
  const sensor = await createSensorFile();
  const first = path.steps[1];
  if (!first) throw new Error('a path with no event');
  await sense(sensor, first.event, 0);
  const early = earlyInspection();
  const server = await startServer(
    {
      responder: 'counter',
      thermalSensor: sensor.path,
      thermalPollMs: input.pollMs,
      throttleAtCelsius: input.throttleAtCelsius,
      resumeAtCelsius: input.resumeAtCelsius,
      criticalAtCelsius: input.criticalAtCelsius,
    },
    { inspect: early.inspect },
  );
  const initial = early.initial();
  if (!initial) throw new Error('the thermal actor never started');
  expect(initial.value).toEqual(path.steps[0]?.state.value);
  const states = [activeNodeIds(initial)];
  const transitions: string[] = [];
  const rig: Rig = { server, sensor, log: early.log, watcher: undefined as never, frames: 1 };

  for (let i = 1; i < path.steps.length; i++) {
    const step = path.steps[i] as PathStep;
    const before = path.steps[i - 1] as PathStep;
    const reading = 'celsius' in step.event ? ` ${String(step.event.celsius)} °C` : '';
    const what = `step ${i} (${eventName(step.event)}${reading})`;
    // The first reading is taken as the server starts, before any client connects.
    if (i > 1) await sense(sensor, step.event, i);
    let real = await rig.log.take(step.microsteps[0] ?? [], what);
    for (const microstep of step.microsteps.slice(1)) real = await rig.log.take(microstep, what);
    expect(real.value, what).toEqual(step.state.value);
    expect((real.context as { celsius: number }).celsius, what).toBe(step.state.context.celsius);
    states.push(real.nodes);
    transitions.push(...step.transitions);
    if (i === 1) {
      rig.watcher = openWatchingClient(server.url);
    } else if (level(step.state) !== level(before.state)) {
      rig.frames++;
    }
    await observe(rig, step, what);
  }
  early.log.stop();
  coverage.coverStates(states.flat());
  coverage.coverTransitions(transitions);
  coverage.paths++;
}

describe('thermal-hysteresis chart, against a real server reading a real sensor file', () => {
  afterAll(async () => {
    await recordCoverage('thermal-hysteresis', coverage.entry());
  });

  it('has paths through every transition of the chart', () => {
    const missed = transitionsOf(thermalChart).filter((t) => !generated.reachable.has(t.key));
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
