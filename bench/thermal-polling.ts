/**
 * What thermal polling costs: the real thermal chart and sensor actor, as the server provides
 * them, reading a real thermal-zone file, with a reading that changes on every poll (the worst
 * case: every poll is a `sensor.read` event, a transition and a new snapshot; a steady reading
 * costs only the file read). Three phases in this process:
 *
 * 1. after a warm-up, idle for `seconds`, no actor (what the process costs anyway);
 * 2. polling at the server's default 1 s for `seconds`: CPU time over wall time, minus phase 1;
 * 3. polling as fast as the clock allows (1 ms) for `fastPolls` polls: CPU time per poll, and
 *    what that makes at one poll a second.
 *
 * Target: under 2 % of one core at 1 s polling.
 *
 *   node --import tsx bench/thermal-polling.ts [seconds=10] [fastPolls=5000] [sensorFile]
 *
 * Without a sensor file it writes one to a temp dir; on a Raspberry Pi pass
 * /sys/class/thermal/thermal_zone0/temp to measure the kernel's own file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { createActor } from 'xstate';
import { systemClock } from '../server/clock.ts';
import { resolveConfig } from '../server/config.ts';
import { fileSensor } from '../server/thermal/sensor.ts';
import { createThermalProtection } from '../server/thermal/thermal-protection.ts';
import { deadline, environmentNote } from './support/deadline.ts';
import { report } from './support/report.ts';

const SECONDS = Number(process.argv[2] ?? 10);
const FAST_POLLS = Number(process.argv[3] ?? 5000);
const TARGET_PERCENT = 2;

const silent = {
  child: () => silent,
  fatal: () => {},
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  trace: () => {},
} as unknown as FastifyBaseLogger;

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Runs the server's thermal actor on `path` until `wait` resolves; returns the polls made. */
async function poll(path: string, pollMs: number, wait: (polls: () => number) => Promise<void>) {
  const config = resolveConfig({ thermalSensor: path }, 'production');
  const read = fileSensor(path);
  let polls = 0;
  let flip = 0;
  const thermal = createThermalProtection({
    config,
    clock: systemClock,
    logger: silent,
    source: {
      description: path,
      // The file's reading, nudged by a millidegree every other poll: a change on every poll.
      read: async () => {
        polls++;
        flip ^= 1;
        return (await read()) + flip / 1000;
      },
    },
  });
  // The chart's input, not the config: the configuration refuses polls under 10 ms.
  const input = { ...thermal.input, pollMs };
  const actor = createActor(thermal.machine, { input, clock: systemClock });
  let changes = 0;
  actor.subscribe({ next: () => changes++, error: (error) => console.error(error) });
  actor.start();
  thermal.attach(actor);
  await wait(() => polls);
  actor.stop();
  return { polls, changes };
}

async function main() {
  const disarm = deadline((SECONDS * 2 + 60) * 1000, 'thermal-polling');
  const given = process.argv[4];
  const dir = given ? null : await mkdtemp(join(tmpdir(), 'threadline-bench-thermal-'));
  const path = given ?? join(dir ?? '', 'temp');
  if (!given) await writeFile(path, '54321\n');

  const reach = (count: number) => async (polls: () => number) => {
    while (polls() < count) await sleep(50);
  };
  // Warm up (module loading, JIT, the first GCs), then let the process settle.
  await poll(path, 1, reach(500));
  await sleep(3000);

  // 1. Baseline: the process doing nothing for as long as phase 2.
  let cpu = cpuMicros();
  let wall = performance.now();
  await sleep(SECONDS * 1000);
  const idleMicros = cpuMicros() - cpu;
  const idleWallMs = performance.now() - wall;

  // 2. The default: one poll a second.
  cpu = cpuMicros();
  wall = performance.now();
  // One long sleep: the bench adds no wake-ups of its own to what it measures.
  const slow = await poll(path, 1000, () => sleep(SECONDS * 1000));
  const slowMicros = cpuMicros() - cpu;
  const slowWallMs = performance.now() - wall;
  const idlePercent = (idleMicros / 1000 / idleWallMs) * 100;
  const slowPercent = (slowMicros / 1000 / slowWallMs) * 100;
  const overPercent = Math.max(0, slowPercent - idlePercent);

  // 3. As fast as the clock allows: the cost of one poll.
  cpu = cpuMicros();
  wall = performance.now();
  const fast = await poll(path, 1, reach(FAST_POLLS));
  const fastMicros = cpuMicros() - cpu;
  const perPollMicros = fastMicros / fast.polls;
  const impliedPercent = (perPollMicros / 1e6) * 100;

  if (dir) await rm(dir, { recursive: true, force: true });
  disarm();
  report(
    'thermal polling',
    [
      {
        metric: 'CPU at 1 s polling (measured, minus idle)',
        threadline: overPercent,
        raw: null,
        unit: '% of a core',
        digits: 3,
        target: `< ${TARGET_PERCENT} %`,
        pass: overPercent < TARGET_PERCENT,
      },
      {
        metric: 'CPU of the process while polling at 1 s',
        threadline: slowPercent,
        raw: null,
        unit: '% of a core',
        digits: 3,
      },
      {
        metric: 'CPU of the process idle',
        threadline: idlePercent,
        raw: null,
        unit: '% of a core',
        digits: 3,
      },
      {
        metric: 'CPU per poll (1 ms polling)',
        threadline: perPollMicros,
        raw: null,
        unit: 'µs',
        digits: 1,
      },
      {
        metric: 'CPU at 1 s polling (from the per-poll cost)',
        threadline: impliedPercent,
        raw: null,
        unit: '% of a core',
        digits: 4,
        target: `< ${TARGET_PERCENT} %`,
        pass: impliedPercent < TARGET_PERCENT,
      },
    ],
    [
      `${slow.polls} polls at 1 s over ${(slowWallMs / 1000).toFixed(1)} s (${slow.changes} snapshots); ${fast.polls} polls at 1 ms (${fast.changes} snapshots)`,
      'the measured difference is within the run-to-run noise of an idle Node process (background GC and compiler threads count too); the per-poll cost is the steadier figure',
      `sensor file: ${given ?? 'a temp file (tmpfs or disk); pass a /sys/class/thermal path on the target'}; every poll a changed reading (worst case)`,
      environmentNote(),
    ],
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
