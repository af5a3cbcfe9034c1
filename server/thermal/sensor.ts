/**
 * The thermal sensor: a Linux thermal-zone file holding the temperature in millidegrees Celsius
 * (`/sys/class/thermal/thermal_zoneN/temp`), found by zone type, or a scripted profile for
 * machines without one. A reader resolves with °C or rejects with what went wrong.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Reads the sensor once: °C, or a rejection saying why it could not. */
export type SensorReader = () => Promise<number>;

export const THERMAL_ROOT = '/sys/class/thermal';

/** The zone type of a Raspberry Pi 5's (and most Arm boards') CPU sensor. */
export const PREFERRED_ZONE_TYPE = 'cpu-thermal';

/**
 * The temperature file of the CPU's thermal zone under `root`: the zone whose `type` is
 * `cpu-thermal`, else the lowest-numbered zone; null when there is none.
 */
export async function findThermalZone(root = THERMAL_ROOT): Promise<string | null> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return null;
  }
  const zones = entries
    .filter((name) => /^thermal_zone\d+$/.test(name))
    .sort((a, b) => Number(a.slice(12)) - Number(b.slice(12)));
  for (const zone of zones) {
    const type = await readFile(join(root, zone, 'type'), 'utf8').catch(() => '');
    if (type.trim() === PREFERRED_ZONE_TYPE) return join(root, zone, 'temp');
  }
  const [first] = zones;
  return first === undefined ? null : join(root, first, 'temp');
}

/** Parses a thermal-zone file's content (millidegrees) into °C. Throws on anything else. */
export function parseMillidegrees(text: string): number {
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) {
    throw new Error(`expected millidegrees, got ${JSON.stringify(trimmed.slice(0, 20))}`);
  }
  return Number(trimmed) / 1000;
}

/** Reads the thermal-zone file at `path`. */
export function fileSensor(path: string): SensorReader {
  return async () => parseMillidegrees(await readFile(path, 'utf8'));
}

/** Finds the CPU's zone on each read until one exists, then reads it. */
export function autoSensor(root = THERMAL_ROOT): SensorReader {
  let path: string | null = null;
  return async () => {
    path ??= await findThermalZone(root);
    if (path === null) throw new Error(`no thermal zone under ${root}`);
    return parseMillidegrees(await readFile(path, 'utf8'));
  };
}
