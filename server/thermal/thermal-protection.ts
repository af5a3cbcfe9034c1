/**
 * Thermal protection as the server runs it: the thermal-hysteresis chart with its sensor actor and
 * log actions provided, and what each level does to the work.
 *
 * Throttled, the server refuses new requests at once with a retryable `overheated` error carrying
 * `retryAfterMs`, rather than holding them in a queue. A queue would keep sockets, memory and the
 * clients' patience tied up while the board cools, for a time nobody can predict (tens of seconds
 * to minutes), and would release its backlog as one burst the moment the level drops, heating the
 * board straight back up. A refusal is visible, costs nothing to hold, and lets each client decide:
 * the client library already queues per thread and reports `retryAfterMs`. Streams in flight slow
 * down (each chunk waits `throttleChunkDelayMs`); critical, they are stopped with `overheated`.
 */
import type { FastifyBaseLogger } from 'fastify';
import { type ActorRefFrom, type EventObject, fromCallback, type SnapshotFrom } from 'xstate';
import type { StatusFrame } from '../../machines/protocol.ts';
import {
  type SensorActorInput,
  type ThermalHysteresisEvent,
  type ThermalHysteresisInput,
  thermalHysteresisMachine,
} from '../../machines/thermal-hysteresis.ts';
import type { Clock } from '../clock.ts';
import type { ServerConfig } from '../config.ts';
import { parseThermalProfile, profileSensor } from './profile.ts';
import { autoSensor, fileSensor, type SensorReader } from './sensor.ts';

export type ThermalLevel = StatusFrame['thermal']['state'];
type ThermalActor = ActorRefFrom<typeof thermalHysteresisMachine>;
type ThermalSnapshot = SnapshotFrom<typeof thermalHysteresisMachine>;

/** A stream stopped because the server reached its critical temperature. */
export class OverheatedError extends Error {
  override readonly name = 'OverheatedError';
  readonly code = 'overheated' as const;
}

export interface ThermalSource {
  /** For logs: the file, `auto`, or the simulated profile. */
  description: string;
  /** Null when the sensor is disabled. */
  read: SensorReader | null;
}

/** The sensor the configuration names: a simulated profile wins over a file. */
export function thermalSource(config: ServerConfig): ThermalSource {
  if (config.thermalSimulate !== 'off') {
    return {
      description: `simulated profile ${config.thermalSimulate}`,
      read: profileSensor(parseThermalProfile(config.thermalSimulate)),
    };
  }
  if (config.thermalSensor === 'none') return { description: 'none', read: null };
  if (config.thermalSensor === 'auto') return { description: 'auto', read: autoSensor() };
  return { description: config.thermalSensor, read: fileSensor(config.thermalSensor) };
}

/**
 * The `sensor` actor: reads at once, then every `pollMs` on the server's clock, and reports only
 * what changed (a new reading, or the start of an outage), so a steady temperature costs the
 * actor system nothing and a missing sensor is reported once, not once a second.
 */
export function pollingSensor(read: SensorReader | null, clock: Clock) {
  return fromCallback<EventObject, SensorActorInput>(({ input, sendBack }) => {
    if (!read) return;
    let stopped = false;
    let timer: unknown = null;
    let last: string | null = null;
    const report = (event: ThermalHysteresisEvent) => {
      if (stopped) return;
      const key = event.type === 'sensor.read' ? String(event.celsius) : 'failed';
      if (key !== last) {
        last = key;
        sendBack(event);
      }
      timer = clock.setTimeout(poll, input.pollMs);
    };
    const poll = () => {
      timer = null;
      read().then(
        (celsius) => report({ type: 'sensor.read', celsius }),
        (error: unknown) =>
          report({
            type: 'sensor.failed',
            reason: error instanceof Error ? error.message : String(error),
          }),
      );
    };
    poll();
    return () => {
      stopped = true;
      if (timer !== null) clock.clearTimeout(timer);
    };
  });
}

/** The chart's top-level state, which is the status frame's `thermal.state`. */
export function thermalLevelOf(snapshot: ThermalSnapshot): ThermalLevel {
  if (snapshot.matches('critical')) return 'critical';
  if (snapshot.matches('throttled')) return 'throttled';
  if (snapshot.matches('normal')) return 'normal';
  return 'unavailable';
}

export interface ThermalProtectionOptions {
  config: ServerConfig;
  clock: Clock;
  logger: FastifyBaseLogger;
  /** Called after the level changes (not on every reading). */
  onChange?: () => void;
  /** Replaces the sensor the configuration names. */
  source?: ThermalSource;
}

export type ThermalProtection = ReturnType<typeof createThermalProtection>;

export function createThermalProtection(options: ThermalProtectionOptions) {
  const { config, clock, logger } = options;
  const source = options.source ?? thermalSource(config);
  const log = logger.child({ component: 'thermal' });
  let level: ThermalLevel = 'unavailable';
  let celsius = -1;

  const machine = thermalHysteresisMachine.provide({
    actors: { sensor: pollingSensor(source.read, clock) },
    actions: {
      logSensorMissing: ({ context }) =>
        log.warn(
          { sensor: source.description, reason: context.sensorProblem },
          'thermal sensor missing or unreadable: serving without thermal protection (celsius -1)',
        ),
      logSensorRestored: ({ context }) =>
        log.info({ sensor: source.description, celsius: context.celsius }, 'thermal sensor back'),
      logProtectionStarted: ({ context }) =>
        log.fatal(
          { celsius: context.celsius, throttleAtCelsius: context.throttleAtCelsius },
          `thermal protection started at ${context.celsius} °C: refusing new requests until ${context.resumeAtCelsius} °C`,
        ),
      logCritical: ({ context }) =>
        log.fatal(
          { celsius: context.celsius, criticalAtCelsius: context.criticalAtCelsius },
          `critical temperature ${context.celsius} °C: stopping streams in flight`,
        ),
      logProtectionEnded: ({ context }) =>
        log.info(
          { celsius: context.celsius, resumeAtCelsius: context.resumeAtCelsius },
          `thermal protection ended at ${context.celsius} °C: full service`,
        ),
    },
  });

  const input: ThermalHysteresisInput = {
    throttleAtCelsius: config.throttleAtCelsius,
    resumeAtCelsius: config.resumeAtCelsius,
    criticalAtCelsius: config.criticalAtCelsius,
    pollMs: config.thermalPollMs,
  };

  function observe(snapshot: ThermalSnapshot) {
    celsius = snapshot.context.celsius;
    const next = thermalLevelOf(snapshot);
    if (next === level) return;
    level = next;
    options.onChange?.();
  }

  return {
    machine,
    input,
    /** Follows the running chart; the level is cached here for the per-chunk hot path. */
    attach(actor: ThermalActor) {
      if (source.read === null) log.info('thermal sensor disabled (thermalSensor none)');
      observe(actor.getSnapshot());
      actor.subscribe({
        next: observe,
        error: (error) => log.error({ err: error }, 'thermal chart failed'),
      });
    },
    get level(): ThermalLevel {
      return level;
    },
    /** Whether streams must slow down or stop: `pace` has something to do. */
    get protecting(): boolean {
      return level === 'throttled' || level === 'critical';
    },
    status(): StatusFrame['thermal'] {
      return { state: level, celsius };
    },
    retryAfterMs(): number {
      return config.overheatedRetryAfterMs;
    },
    /** Why a new request must be refused now, or null to admit it. */
    refusal(): { code: 'overheated'; message: string } | null {
      if (level !== 'throttled' && level !== 'critical') return null;
      return {
        code: 'overheated',
        message: `the server is too hot (${celsius} °C); try again when it has cooled to ${config.resumeAtCelsius} °C`,
      };
    },
    /**
     * Called before each chunk of a stream while protecting: waits `throttleChunkDelayMs`
     * when throttled, throws `OverheatedError` when critical. Rejects as soon as `signal` aborts.
     */
    pace(signal: AbortSignal): Promise<void> {
      if (level === 'critical') {
        return Promise.reject(
          new OverheatedError(`stopped: the server reached ${celsius} °C (critical)`),
        );
      }
      if (level !== 'throttled' || config.throttleChunkDelayMs === 0) return Promise.resolve();
      return new Promise((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason);
        const onAbort = () => {
          clock.clearTimeout(timer);
          reject(signal.reason);
        };
        const timer = clock.setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, config.throttleChunkDelayMs);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}
