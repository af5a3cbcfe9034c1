/**
 * How hot the server may run. A sensor actor reads the CPU temperature every `pollMs` and reports
 * each new reading; the chart turns readings into a protection level with hysteresis, so a
 * temperature hovering near a threshold cannot make the level flap.
 *
 * - `unavailable`: no reading yet (`waiting`), or the sensor is missing or unreadable (`missing`,
 *   warned about once per outage). The server serves normally.
 * - `normal`: below `throttleAtCelsius`, or cooled to `resumeAtCelsius` after protection.
 * - `throttled`: reached `throttleAtCelsius`; new requests are refused, streams slow down.
 *   Only a reading at or below `resumeAtCelsius` ends it: the band between is sticky.
 * - `critical`: reached `criticalAtCelsius`; streams in flight are stopped too. It eases back to
 *   `throttled` at or below `throttleAtCelsius`, and to `normal` at `resumeAtCelsius`.
 *
 * The top-level state names are the `status` frame's `thermal.state`, for the wire, the metrics
 * and the inspector alike. Protection is throttled or critical; it starts and ends with a log.
 *
 * The server provides the `sensor` actor (a thermal-zone file, a scripted profile, or nothing)
 * and the `log*` actions; what the levels do to requests lives in the server's admission control.
 */
import { assertEvent, assign, type EventObject, fromCallback, setup } from 'xstate';

export interface ThermalHysteresisInput {
  /** Enter protection (throttled) at or above this. */
  throttleAtCelsius: number;
  /** Leave protection at or below this; must be below `throttleAtCelsius`. */
  resumeAtCelsius: number;
  /** Stop streams in flight at or above this; must be above `throttleAtCelsius`. */
  criticalAtCelsius: number;
  /** How often the sensor actor reads the sensor. */
  pollMs: number;
}

export interface ThermalHysteresisContext extends ThermalHysteresisInput {
  /** The latest reading in °C; -1 while there is none (no sensor, or not read yet). */
  celsius: number;
  /** Why the sensor could not be read, while it cannot. */
  sensorProblem: string | null;
}

export type ThermalHysteresisEvent =
  /** A reading that differs from the one before (the sensor actor reports changes only). */
  | { type: 'sensor.read'; celsius: number }
  /** The sensor is missing or unreadable (reported once per outage). */
  | { type: 'sensor.failed'; reason: string };

export interface SensorActorInput {
  pollMs: number;
}

export const thermalHysteresisMachine = setup({
  types: {
    context: {} as ThermalHysteresisContext,
    events: {} as ThermalHysteresisEvent,
    input: {} as ThermalHysteresisInput,
  },
  actors: {
    /** Provided by the server: reads the sensor every `pollMs`, reports `sensor.*` on change. */
    sensor: fromCallback<EventObject, SensorActorInput>(() => undefined),
  },
  actions: {
    recordReading: assign(({ event }) => {
      assertEvent(event, 'sensor.read');
      return { celsius: event.celsius, sensorProblem: null };
    }),
    recordFailure: assign(({ event }) => {
      assertEvent(event, 'sensor.failed');
      return { celsius: -1, sensorProblem: event.reason };
    }),
    logSensorMissing: () => {},
    logSensorRestored: () => {},
    logProtectionStarted: () => {},
    logProtectionEnded: () => {},
    logCritical: () => {},
  },
  guards: {
    isCritical: ({ context, event }) => {
      assertEvent(event, 'sensor.read');
      return event.celsius >= context.criticalAtCelsius;
    },
    isHot: ({ context, event }) => {
      assertEvent(event, 'sensor.read');
      return event.celsius >= context.throttleAtCelsius;
    },
    isCool: ({ context, event }) => {
      assertEvent(event, 'sensor.read');
      return event.celsius <= context.resumeAtCelsius;
    },
    /** Critical has its own hysteresis: it eases to throttled only at `throttleAtCelsius`. */
    isNoLongerCritical: ({ context, event }) => {
      assertEvent(event, 'sensor.read');
      return event.celsius <= context.throttleAtCelsius;
    },
  },
}).createMachine({
  id: 'thermal',
  context: ({ input }) => ({ ...input, celsius: -1, sensorProblem: null }),
  invoke: { id: 'sensor', src: 'sensor', input: ({ context }) => ({ pollMs: context.pollMs }) },
  initial: 'unavailable',
  states: {
    unavailable: {
      initial: 'waiting',
      on: {
        'sensor.read': [
          {
            guard: 'isCritical',
            target: 'critical',
            actions: ['recordReading', 'logProtectionStarted'],
          },
          {
            guard: 'isHot',
            target: 'throttled',
            actions: ['recordReading', 'logProtectionStarted'],
          },
          { target: 'normal', actions: 'recordReading' },
        ],
      },
      states: {
        waiting: {
          on: { 'sensor.failed': { target: 'missing', actions: 'recordFailure' } },
        },
        missing: { entry: 'logSensorMissing', exit: 'logSensorRestored' },
      },
    },
    normal: {
      on: {
        'sensor.read': [
          {
            guard: 'isCritical',
            target: 'critical',
            actions: ['recordReading', 'logProtectionStarted'],
          },
          {
            guard: 'isHot',
            target: 'throttled',
            actions: ['recordReading', 'logProtectionStarted'],
          },
          { actions: 'recordReading' },
        ],
        'sensor.failed': { target: 'unavailable.missing', actions: 'recordFailure' },
      },
    },
    throttled: {
      on: {
        'sensor.read': [
          { guard: 'isCritical', target: 'critical', actions: 'recordReading' },
          { guard: 'isCool', target: 'normal', actions: ['recordReading', 'logProtectionEnded'] },
          { actions: 'recordReading' },
        ],
        'sensor.failed': {
          target: 'unavailable.missing',
          actions: ['recordFailure', 'logProtectionEnded'],
        },
      },
    },
    critical: {
      entry: 'logCritical',
      on: {
        'sensor.read': [
          { guard: 'isCool', target: 'normal', actions: ['recordReading', 'logProtectionEnded'] },
          { guard: 'isNoLongerCritical', target: 'throttled', actions: 'recordReading' },
          { actions: 'recordReading' },
        ],
        'sensor.failed': {
          target: 'unavailable.missing',
          actions: ['recordFailure', 'logProtectionEnded'],
        },
      },
    },
  },
});
