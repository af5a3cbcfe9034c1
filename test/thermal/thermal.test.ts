/**
 * Thermal protection against the real system: a real server reading a real sensor file that the
 * test writes, and real clients observing what a user would: status frames, refusals, pace.
 */
import { describe, expect, it } from 'vitest';
import { startServer, type TestServer, waitFor } from '../support/harness.ts';
import { createSensorFile, openWatchingClient, type SensorFile } from './protection-harness.ts';

async function startHotServer(sensor: SensorFile, overrides: Record<string, unknown> = {}) {
  return startServer({
    responder: 'counter',
    thermalSensor: sensor.path,
    thermalPollMs: 20,
    ...overrides,
  });
}

/** Resolves once the server has read `celsius` from its sensor (whatever the level). */
function serverHasRead(server: TestServer, celsius: number) {
  return waitFor(() => server.app.threadline.thermal.status().celsius === celsius, {
    what: `the server to read ${celsius} °C`,
  });
}

describe('thermal protection', () => {
  it('refuses the next request with overheated within 1 s of an 85.0 °C reading (1 s polling)', async () => {
    const sensor = await createSensorFile(70);
    const server = await startHotServer(sensor, { thermalPollMs: 1000 });
    const { client, thermalState } = openWatchingClient(server.url);
    await waitFor(() => thermalState() === 'normal', { what: 'status normal' });
    expect((await client.request('3').result).status).toBe('done');

    const written = performance.now();
    await sensor.write(85.0);
    await waitFor(() => thermalState() === 'throttled', { timeoutMs: 3000, what: 'throttled' });
    // The server reads once a second: the reading, and the status frame it causes, come ≤ 1 s on.
    expect(performance.now() - written).toBeLessThan(1000 + 250);
    const refused = await client.request('3').result;
    expect(refused.status).toBe('failed');
    expect(refused.error).toMatchObject({
      code: 'overheated',
      retryable: true,
      retryAfterMs: server.config.overheatedRetryAfterMs,
    });
    expect(client.status().server?.thermal).toEqual({ state: 'throttled', celsius: 85 });
  });

  it('stays throttled at 84 °C and resumes at 80.0 °C', async () => {
    const sensor = await createSensorFile(86);
    const server = await startHotServer(sensor);
    const { client, thermalState } = openWatchingClient(server.url);
    await waitFor(() => thermalState() === 'throttled', { what: 'throttled' });

    await sensor.write(84);
    await serverHasRead(server, 84);
    expect((await client.request('3').result).error?.code).toBe('overheated');
    expect(thermalState()).toBe('throttled');

    await sensor.write(80.0);
    await waitFor(() => thermalState() === 'normal', { what: 'normal again' });
    expect(await client.request('3').result).toEqual({ status: 'done', text: '0\n1\n2\n' });
  });

  it('does not oscillate while readings jitter between 81 and 84 °C', async () => {
    const sensor = await createSensorFile(79);
    const server = await startHotServer(sensor);
    const { client, statuses, thermalState } = openWatchingClient(server.url);
    await waitFor(() => thermalState() === 'normal', { what: 'normal' });
    const jitter = [81, 84, 82.5, 83, 81.2, 84, 82];

    // Warming through the band from below: still normal, not one status frame more.
    const before = statuses().length;
    for (const celsius of jitter) {
      await sensor.write(celsius);
      await serverHasRead(server, celsius);
    }
    expect(statuses().length).toBe(before);
    expect((await client.request('2').result).status).toBe('done');

    // Cooling through the band from above: still throttled, again without a frame.
    await sensor.write(85.5);
    await waitFor(() => thermalState() === 'throttled', { what: 'throttled' });
    const throttled = statuses().length;
    for (const celsius of jitter) {
      await sensor.write(celsius);
      await serverHasRead(server, celsius);
    }
    expect(statuses().length).toBe(throttled);
    expect(thermalState()).toBe('throttled');
    expect((await client.request('2').result).error?.code).toBe('overheated');
  });

  it('serves on with state unavailable (-1) when the sensor is missing or unreadable', async () => {
    const sensor = await createSensorFile();
    const server = await startHotServer(sensor);
    const { client, thermalState } = openWatchingClient(server.url);
    await waitFor(() => thermalState() === 'unavailable', { what: 'a status frame' });
    expect(client.status().server?.thermal).toEqual({ state: 'unavailable', celsius: -1 });
    expect((await client.request('2').result).status).toBe('done');

    await sensor.write(90.5);
    await waitFor(() => thermalState() === 'critical', { what: 'the sensor back, critical' });
    await sensor.garble();
    await waitFor(() => thermalState() === 'unavailable', { what: 'unreadable: unavailable' });
    expect(client.status().server?.thermal.celsius).toBe(-1);
    expect((await client.request('2').result).status).toBe('done');
  });

  it('slows streams in flight while throttled, and restores the pace at normal', async () => {
    const sensor = await createSensorFile(70);
    const server = await startHotServer(sensor, { throttleChunkDelayMs: 40 });
    const { client, thermalState } = openWatchingClient(server.url);
    await waitFor(() => thermalState() === 'normal', { what: 'normal' });
    const handle = client.request('100000 1');
    const arrivals: number[] = [];
    const reading = (async () => {
      for await (const _ of handle) arrivals.push(performance.now());
    })();
    const rate = async (ms: number) => {
      const from = arrivals.length;
      await new Promise((resolve) => setTimeout(resolve, ms));
      return ((arrivals.length - from) * 1000) / ms;
    };
    await waitFor(() => arrivals.length > 20, { what: 'the stream to flow' });
    const normalRate = await rate(300);

    await sensor.write(87);
    await waitFor(() => thermalState() === 'throttled', { what: 'throttled' });
    const throttledRate = await rate(400);
    await sensor.write(75);
    await waitFor(() => thermalState() === 'normal', { what: 'normal' });
    const restoredRate = await rate(300);
    handle.cancel();
    await reading;

    // One chunk per 40 ms at most while throttled (25/s); hundreds per second otherwise.
    expect(throttledRate).toBeLessThanOrEqual(30);
    expect(throttledRate).toBeGreaterThan(5);
    expect(normalRate).toBeGreaterThan(150);
    expect(restoredRate).toBeGreaterThan(150);
    expect((await handle.result).status).toBe('cancelled');
  });

  it('stops streams in flight with a retryable overheated error at the critical level', async () => {
    const sensor = await createSensorFile(70);
    const server = await startHotServer(sensor);
    const { client, thermalState } = openWatchingClient(server.url);
    await waitFor(() => thermalState() === 'normal', { what: 'normal' });
    const handle = client.request('100000 2');
    await waitFor(() => client.status().streaming && handle, { what: 'streaming' });
    await sensor.write(server.config.criticalAtCelsius);
    const result = await handle.result;
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ code: 'overheated', retryable: true });
    expect(result.error?.retryAfterMs).toBe(server.config.overheatedRetryAfterMs);
    expect(result.text.length).toBeGreaterThan(0);
    expect(thermalState()).toBe('critical');
    // Eased to throttled at 85 °C: still refusing; full service back at 80 °C.
    await sensor.write(85);
    await waitFor(() => thermalState() === 'throttled', { what: 'throttled' });
    expect((await client.request('1').result).error?.code).toBe('overheated');
    await sensor.write(80);
    await waitFor(() => thermalState() === 'normal', { what: 'normal' });
    expect((await client.request('1').result).status).toBe('done');
  });

  it('sends every attached client a status frame after its welcome and on each change', async () => {
    const sensor = await createSensorFile(70);
    const server = await startHotServer(sensor);
    const first = openWatchingClient(server.url);
    const second = openWatchingClient(server.url);
    for (const watcher of [first, second]) {
      await waitFor(() => watcher.thermalState() === 'normal', { what: 'status normal' });
      const types = watcher.frames.map((frame) => frame.type);
      expect(types.indexOf('status')).toBe(types.indexOf('welcome') + 1);
    }
    await sensor.write(88);
    await waitFor(
      () => first.thermalState() === 'throttled' && second.thermalState() === 'throttled',
    );
    await sensor.write(79.9);
    await waitFor(() => first.thermalState() === 'normal' && second.thermalState() === 'normal');
    for (const watcher of [first, second]) {
      // A client that connected before the first reading saw `unavailable` first.
      const states = watcher.statuses().map((status) => status.thermal.state);
      expect(states.filter((state) => state !== 'unavailable')).toEqual([
        'normal',
        'throttled',
        'normal',
      ]);
      expect(watcher.statuses().at(-2)).toEqual({
        type: 'status',
        thermal: { state: 'throttled', celsius: 88 },
        breaker: { state: 'closed' },
        draining: false,
      });
    }
  });

  it('runs on a simulated profile when there is no sensor', async () => {
    const server = await startServer({
      responder: 'counter',
      thermalSimulate: '70x25,86x8,83x4,79',
      thermalPollMs: 20,
    });
    const { statuses } = openWatchingClient(server.url);
    await waitFor(() => statuses().at(-1)?.thermal.celsius === 79, { what: 'the profile to end' });
    const states = statuses().map((status) => status.thermal.state);
    expect(states.filter((state) => state !== 'unavailable')).toEqual([
      'normal',
      'throttled',
      'normal',
    ]);
  });
});
