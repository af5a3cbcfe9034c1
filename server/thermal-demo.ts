/**
 * Watch thermal protection decide: `npm run thermal -- --simulate [PROFILE]` runs the real
 * thermal-hysteresis chart on a scripted temperature (default `climb`: past 85 °C, jittering in
 * the band, below 80 °C) and prints every reading and every transition, with what a new request
 * would get. Without `--simulate` it watches the real sensor (`--thermal-sensor PATH`, or the
 * CPU's thermal zone) until Ctrl-C. `--poll-ms MS` sets the pace (default 250 simulated).
 * Thresholds come from the usual configuration (`THREADLINE_THROTTLE_AT_CELSIUS`, …).
 */
import { createActor } from 'xstate';
import { thermalHysteresisMachine } from '../machines/thermal-hysteresis.ts';
import { systemClock } from './clock.ts';
import { ConfigError, resolveConfig, type ServerConfig } from './config.ts';
import { parseThermalProfile } from './thermal/profile.ts';
import {
  pollingSensor,
  type ThermalLevel,
  thermalLevelOf,
  thermalSource,
} from './thermal/thermal-protection.ts';

interface DemoArgs {
  simulate: string | null;
  sensor: string | null;
  pollMs: number | null;
}

function parseDemoArgs(argv: string[]): DemoArgs {
  const args: DemoArgs = { simulate: null, sensor: null, pollMs: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    const hasValue = value !== undefined && !value.startsWith('--');
    if (arg === '--simulate') {
      args.simulate = hasValue ? value : 'climb';
      if (hasValue) i++;
    } else if (arg === '--thermal-sensor' && hasValue) {
      args.sensor = value;
      i++;
    } else if (arg === '--poll-ms' && hasValue) {
      args.pollMs = Number(value);
      i++;
    } else {
      throw new ConfigError(
        `unknown argument ${arg}; usage: thermal [--simulate [PROFILE]] [--thermal-sensor PATH] [--poll-ms MS]`,
      );
    }
  }
  return args;
}

const admission: Record<ThermalLevel, string> = {
  unavailable: 'requests admitted (no sensor: no protection)',
  normal: 'requests admitted, full pace',
  throttled: 'new requests refused (overheated), streams slowed',
  critical: 'new requests refused, streams in flight stopped',
};

function main() {
  const args = parseDemoArgs(process.argv.slice(2));
  const config: ServerConfig = resolveConfig(
    {
      thermalSimulate: args.simulate ?? undefined,
      thermalSensor: args.sensor ?? undefined,
      thermalPollMs: args.pollMs ?? (args.simulate ? 250 : undefined),
      logLevel: 'silent',
    },
    'development',
    process.env,
  );
  const source = thermalSource(config);
  const readings = args.simulate ? parseThermalProfile(args.simulate).length : null;
  const started = systemClock.now();
  const stamp = () => `${((systemClock.now() - started) / 1000).toFixed(2).padStart(6)} s`;
  const print = (line: string) => process.stdout.write(`${stamp()}  ${line}\n`);

  process.stdout.write(
    `thermal demo: sensor ${source.description}, poll ${config.thermalPollMs} ms; throttle at ≥ ${config.throttleAtCelsius} °C, resume at ≤ ${config.resumeAtCelsius} °C, critical at ≥ ${config.criticalAtCelsius} °C\n`,
  );
  let polls = 0;
  const counted = source.read;
  const read = counted
    ? async () => {
        polls++;
        return counted();
      }
    : null;
  const actor = createActor(
    thermalHysteresisMachine.provide({
      actors: { sensor: pollingSensor(read, systemClock) },
      actions: {
        logSensorMissing: ({ context }) => print(`sensor missing: ${context.sensorProblem}`),
        logSensorRestored: () => print('sensor back'),
        logProtectionStarted: ({ context }) =>
          print(`FATAL protection started at ${context.celsius} °C`),
        logCritical: ({ context }) => print(`FATAL critical at ${context.celsius} °C`),
        logProtectionEnded: ({ context }) => print(`protection ended at ${context.celsius} °C`),
      },
    }),
    {
      clock: systemClock,
      input: {
        throttleAtCelsius: config.throttleAtCelsius,
        resumeAtCelsius: config.resumeAtCelsius,
        criticalAtCelsius: config.criticalAtCelsius,
        pollMs: config.thermalPollMs,
      },
    },
  );
  let level = thermalLevelOf(actor.getSnapshot());
  let celsius = -1;
  actor.subscribe({
    next: (snapshot) => {
      const next = thermalLevelOf(snapshot);
      if (snapshot.context.celsius !== celsius && snapshot.context.celsius !== -1) {
        celsius = snapshot.context.celsius;
        print(`reading ${celsius.toFixed(1).padStart(5)} °C  (${next})`);
      }
      if (next !== level) {
        print(`  ${level} → ${next}: ${admission[next]}`);
        level = next;
      }
    },
    error: (error) => {
      process.stderr.write(`thermal demo: ${String(error)}\n`);
      process.exitCode = 1;
    },
  });
  print(`  start: ${level}: ${admission[level]}`);
  actor.start();
  // The last reading of a profile holds: stop once it has been read and held a couple of polls.
  if (readings !== null) {
    const watch = setInterval(() => {
      if (polls >= readings + 2 || actor.getSnapshot().status !== 'active') {
        clearInterval(watch);
        if (actor.getSnapshot().status === 'active') {
          actor.stop();
          process.stdout.write(`${stamp()}  profile done; ended ${level}\n`);
        }
      }
    }, config.thermalPollMs);
  }
  process.on('SIGINT', () => {
    actor.stop();
    process.exit(0);
  });
}

try {
  main();
} catch (error) {
  process.stderr.write(
    `thermal: ${error instanceof ConfigError ? error.message : String(error instanceof Error ? error.stack : error)}\n`,
  );
  process.exit(2);
}
