/**
 * What an operator reads in the log: the real thermal chart and sensor actor, as the server
 * provides them, reading a real file, with the logger recorded.
 */
import type { FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { systemClock } from '../../server/clock.ts';
import { resolveConfig } from '../../server/config.ts';
import { fileSensor } from '../../server/thermal/sensor.ts';
import { createThermalProtection } from '../../server/thermal/thermal-protection.ts';
import { dispose, waitFor } from '../support/harness.ts';
import { createSensorFile, type SensorFile } from './protection-harness.ts';

interface LogLine {
  level: string;
  fields: Record<string, unknown>;
  message: string;
}

function recordingLogger() {
  const lines: LogLine[] = [];
  const at = (level: string) => (fields: Record<string, unknown> | string, message?: string) => {
    if (typeof fields === 'string') lines.push({ level, fields: {}, message: fields });
    else lines.push({ level, fields, message: message ?? '' });
  };
  const logger = {
    child: () => logger,
    fatal: at('fatal'),
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    trace: at('trace'),
  };
  return { logger: logger as unknown as FastifyBaseLogger, lines };
}

/** The thermal chart as the server runs it, on `sensor`, counting the polls. */
function runThermal(sensor: SensorFile) {
  const config = resolveConfig({ thermalSensor: sensor.path, thermalPollMs: 10 }, 'test');
  const { logger, lines } = recordingLogger();
  let polls = 0;
  const read = fileSensor(sensor.path);
  const thermal = createThermalProtection({
    config,
    clock: systemClock,
    logger,
    source: {
      description: sensor.path,
      read: () => {
        polls++;
        return read();
      },
    },
  });
  const actor = createActor(thermal.machine, { input: thermal.input, clock: systemClock });
  actor.start();
  thermal.attach(actor);
  dispose(() => {
    actor.stop();
  });
  return { thermal, lines, polls: () => polls };
}

describe('thermal protection logs', () => {
  it('warns once per outage of the sensor, not once a poll', async () => {
    const sensor = await createSensorFile();
    const { thermal, lines, polls } = runThermal(sensor);
    await waitFor(() => polls() >= 20, { what: '20 polls of a missing sensor' });
    const warnings = () => lines.filter((line) => line.level === 'warn');
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]?.message).toMatch(/thermal sensor missing or unreadable/);
    expect(warnings()[0]?.fields.reason).toMatch(/ENOENT/);
    expect(thermal.status()).toEqual({ state: 'unavailable', celsius: -1 });

    await sensor.write(60);
    await waitFor(() => thermal.level === 'normal', { what: 'the sensor back' });
    expect(lines.at(-1)).toMatchObject({ level: 'info', message: 'thermal sensor back' });
    await sensor.garble();
    const seen = polls();
    await waitFor(() => polls() >= seen + 20, { what: '20 polls of a garbled sensor' });
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]?.fields.reason).toMatch(/expected millidegrees/);
  });

  it('logs fatal with the temperature when protection starts, info when it ends', async () => {
    const sensor = await createSensorFile(70);
    const { thermal, lines } = runThermal(sensor);
    await waitFor(() => thermal.level === 'normal', { what: 'normal' });
    await sensor.write(85.5);
    await waitFor(() => thermal.level === 'throttled', { what: 'throttled' });
    expect(lines.filter((line) => line.level === 'fatal')).toEqual([
      {
        level: 'fatal',
        fields: { celsius: 85.5, throttleAtCelsius: 85 },
        message: 'thermal protection started at 85.5 °C: refusing new requests until 80 °C',
      },
    ]);
    await sensor.write(92);
    await waitFor(() => thermal.level === 'critical', { what: 'critical' });
    expect(lines.at(-1)).toMatchObject({ level: 'fatal', fields: { celsius: 92 } });
    await sensor.write(79);
    await waitFor(() => thermal.level === 'normal', { what: 'normal' });
    expect(lines.at(-1)).toEqual({
      level: 'info',
      fields: { celsius: 79, resumeAtCelsius: 80 },
      message: 'thermal protection ended at 79 °C: full service',
    });
    expect(lines.filter((line) => line.level === 'fatal')).toHaveLength(2);
  });
});
