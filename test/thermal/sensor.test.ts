import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configFromCli, resolveConfig } from '../../server/config.ts';
import { parseThermalProfile, profileSensor } from '../../server/thermal/profile.ts';
import {
  autoSensor,
  fileSensor,
  findThermalZone,
  parseMillidegrees,
} from '../../server/thermal/sensor.ts';
import { dispose } from '../support/harness.ts';

/** A fake `/sys/class/thermal` with the given zone types, each at its temperature. */
async function fakeThermalRoot(zones: Array<{ type: string; millidegrees: string }>) {
  const root = await mkdtemp(join(tmpdir(), 'threadline-zones-'));
  dispose(() => rm(root, { recursive: true, force: true }));
  for (const [index, zone] of zones.entries()) {
    const dir = join(root, `thermal_zone${index}`);
    await mkdir(dir);
    await writeFile(join(dir, 'type'), `${zone.type}\n`);
    await writeFile(join(dir, 'temp'), `${zone.millidegrees}\n`);
  }
  await mkdir(join(root, 'cooling_device0'));
  return root;
}

describe('the thermal-zone sensor', () => {
  it('prefers the cpu-thermal zone, as on a Raspberry Pi 5', async () => {
    const root = await fakeThermalRoot([
      { type: 'acpitz', millidegrees: '30000' },
      { type: 'x86_pkg_temp', millidegrees: '40000' },
      { type: 'cpu-thermal', millidegrees: '54321' },
    ]);
    expect(await findThermalZone(root)).toBe(join(root, 'thermal_zone2', 'temp'));
    expect(await autoSensor(root)()).toBe(54.321);
  });

  it('falls back to the first zone, and finds none where there is none', async () => {
    const root = await fakeThermalRoot([
      { type: 'acpitz', millidegrees: '30000' },
      { type: 'x86_pkg_temp', millidegrees: '40000' },
    ]);
    expect(await findThermalZone(root)).toBe(join(root, 'thermal_zone0', 'temp'));
    expect(await findThermalZone(join(root, 'nowhere'))).toBeNull();
    await expect(autoSensor(join(root, 'nowhere'))()).rejects.toThrow(/no thermal zone/);
  });

  it('reads millidegrees and refuses anything else', async () => {
    expect(parseMillidegrees('85000\n')).toBe(85);
    expect(parseMillidegrees('80000')).toBe(80);
    expect(parseMillidegrees('-5000')).toBe(-5);
    expect(() => parseMillidegrees('')).toThrow(/expected millidegrees/);
    expect(() => parseMillidegrees('85.0')).toThrow(/expected millidegrees/);
    expect(() => parseMillidegrees('hot')).toThrow(/expected millidegrees/);
    await expect(fileSensor('/nonexistent/thermal/temp')()).rejects.toThrow(/ENOENT/);
  });
});

describe('the simulated profile', () => {
  it('parses readings with repeats, and names', () => {
    expect(parseThermalProfile('70, 86x3,79.5')).toEqual([70, 86, 86, 86, 79.5]);
    expect(parseThermalProfile('climb')).toContain(85);
    expect(() => parseThermalProfile('70,hot')).toThrow(/"hot" is not a reading/);
    expect(() => parseThermalProfile('')).toThrow(/not a reading/);
  });

  it('answers its readings in turn, fails on -1, and holds the last', async () => {
    const read = profileSensor([70, -1, 86]);
    expect(await read()).toBe(70);
    await expect(read()).rejects.toThrow(/simulated sensor failure/);
    expect(await read()).toBe(86);
    expect(await read()).toBe(86);
  });
});

describe('thermal and breaker configuration', () => {
  it('has the defaults of the issue', () => {
    const config = resolveConfig({}, 'production');
    expect(config).toMatchObject({
      thermalSensor: 'auto',
      thermalSimulate: 'off',
      thermalPollMs: 1000,
      throttleAtCelsius: 85,
      resumeAtCelsius: 80,
      breakerFailureThreshold: 5,
      breakerCooldownMs: 30_000,
    });
    // Tests never depend on how hot the machine running them is.
    expect(resolveConfig({}, 'test').thermalSensor).toBe('none');
  });

  it('refuses a resume point at or above the trigger, with a clear error', () => {
    expect(() => resolveConfig({ throttleAtCelsius: 80, resumeAtCelsius: 80 }, 'test')).toThrow(
      new ConfigError(
        'invalid resumeAtCelsius: 80 must be below throttleAtCelsius (80), or throttling could never end',
      ),
    );
    expect(() => resolveConfig({ resumeAtCelsius: 86 }, 'test')).toThrow(/must be below/);
    expect(() => resolveConfig({ criticalAtCelsius: 85 }, 'test')).toThrow(
      /invalid criticalAtCelsius: 85 must be above throttleAtCelsius \(85\)/,
    );
    expect(() => resolveConfig({ thermalSimulate: '70,boiling' }, 'test')).toThrow(
      /invalid thermalSimulate: thermal profile: "boiling"/,
    );
  });

  it('takes the sensor from --thermal-sensor or THREADLINE_THERMAL_SENSOR', () => {
    const fromEnv = configFromCli([], { THREADLINE_THERMAL_SENSOR: '/tmp/zone/temp' });
    expect(fromEnv.thermalSensor).toBe('/tmp/zone/temp');
    const fromFlag = configFromCli(['--thermal-sensor', '/x/temp', '--thermal-simulate', 'climb'], {
      THREADLINE_THERMAL_SENSOR: '/tmp/zone/temp',
    });
    expect(fromFlag.thermalSensor).toBe('/x/temp');
    expect(fromFlag.thermalSimulate).toBe('climb');
  });
});
