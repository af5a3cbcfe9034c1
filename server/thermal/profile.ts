/**
 * Simulated temperatures for machines without a sensor: a scripted profile, one reading per poll,
 * the last one held. `-1` in a profile is a failed read (the sensor vanished for that poll).
 */
import type { SensorReader } from './sensor.ts';

/** Built-in profiles, by name. */
export const thermalProfiles = {
  /** Climbs past 85 °C, jitters in the band without flapping, cools below 80 °C. */
  climb: [62, 70, 76, 81, 84, 85, 86.5, 84, 82, 84, 81, 83, 80.5, 80, 77, 72],
  /** As `climb`, with an excursion to the critical level and back. */
  critical: [70, 80, 85, 88, 91, 89, 86, 85, 84, 82, 80, 76],
  /** A sensor that fails for a while, then answers again. */
  flaky: [70, -1, -1, -1, 71, 72],
} as const satisfies Record<string, readonly number[]>;

export type ThermalProfileName = keyof typeof thermalProfiles;

/**
 * Parses a profile: a built-in name, or readings in °C separated by commas, each optionally
 * repeated (`86x5` is five polls at 86 °C). Throws a message fit for a configuration error.
 */
export function parseThermalProfile(text: string): number[] {
  const named = thermalProfiles[text.trim() as ThermalProfileName];
  if (named) return [...named];
  const readings: number[] = [];
  for (const part of text.split(',')) {
    const match = /^\s*(-?\d+(?:\.\d+)?)(?:\s*x\s*(\d+))?\s*$/.exec(part);
    if (!match) {
      throw new Error(
        `thermal profile: "${part.trim()}" is not a reading like 85 or 85x3 (or a profile name: ${Object.keys(thermalProfiles).join(', ')})`,
      );
    }
    const times = Number(match[2] ?? 1);
    for (let i = 0; i < times; i++) readings.push(Number(match[1]));
  }
  if (readings.length === 0) throw new Error('thermal profile: no readings');
  return readings;
}

/** A sensor that answers the profile's readings in turn, then holds the last. */
export function profileSensor(readings: readonly number[]): SensorReader {
  let index = 0;
  return async () => {
    const celsius = readings[Math.min(index, readings.length - 1)] ?? -1;
    index++;
    if (celsius === -1) throw new Error('simulated sensor failure');
    return celsius;
  };
}
