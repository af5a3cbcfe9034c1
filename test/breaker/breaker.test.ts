/**
 * The circuit breaker against the real system: a real server with the openai responder in front
 * of a real loopback OpenAI-compatible upstream that the test makes fail and recover, and real
 * clients observing refusals and status frames. The upstream's own request log proves which
 * requests reached it.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { RequestResult } from '../../client/request-handle.ts';
import { startFakeOpenAIUpstream, type UpstreamScript } from '../support/fake-openai-upstream.ts';
import { dispose, startServer, waitFor } from '../support/harness.ts';
import { openWatchingClient, type WatchingClient } from '../thermal/protection-harness.ts';

const HEALTHY: UpstreamScript = { words: ['all', ' good'] };
const BROKEN: UpstreamScript = { status: 500 };

async function startBreakerRig(overrides: Record<string, unknown> = {}) {
  const upstream = await startFakeOpenAIUpstream(HEALTHY);
  dispose(() => upstream.stop());
  const server = await startServer({
    responder: 'openai',
    openaiBaseUrl: upstream.url,
    openaiModel: 'test-model',
    breakerFailureThreshold: 5,
    breakerCooldownMs: 60_000,
    ...overrides,
  });
  const watcher = openWatchingClient(server.url);
  await waitFor(() => watcher.breakerState() === 'closed', { what: 'the first status frame' });
  return { upstream, server, watcher };
}

async function ask(watcher: WatchingClient, text = 'hello'): Promise<RequestResult> {
  return watcher.client.request(text).result;
}

async function failTimes(watcher: WatchingClient, times: number) {
  const results: RequestResult[] = [];
  for (let i = 0; i < times; i++) results.push(await ask(watcher));
  return results;
}

describe('the circuit breaker around the upstream', () => {
  it('opens after five failures in a row; later requests fail fast without calling the upstream', async () => {
    const { upstream, server, watcher } = await startBreakerRig();
    upstream.setScript(BROKEN);
    const failures = await failTimes(watcher, 5);
    for (const result of failures) {
      expect(result.status).toBe('failed');
      expect(result.error).toMatchObject({ code: 'upstream_unavailable', retryable: true });
    }
    // The fifth failure opened the breaker, so it already says when to come back.
    expect(failures[3]?.error?.retryAfterMs).toBeUndefined();
    expect(failures[4]?.error?.retryAfterMs).toBeGreaterThan(59_000);
    expect(upstream.requests).toHaveLength(5);
    await waitFor(() => watcher.breakerState() === 'open', { what: 'status open' });
    const open = watcher.statuses().at(-1);
    expect(open?.breaker.retryAfterMs).toBeGreaterThan(59_000);
    expect(open?.breaker.retryAfterMs).toBeLessThanOrEqual(60_000);

    upstream.setScript(HEALTHY);
    const started = performance.now();
    const refused = await ask(watcher);
    expect(performance.now() - started).toBeLessThan(100);
    expect(refused.status).toBe('failed');
    expect(refused.error?.code).toBe('upstream_unavailable');
    expect(refused.error?.retryable).toBe(true);
    expect(refused.error?.retryAfterMs).toBeGreaterThan(55_000);
    expect(refused.error?.message).toMatch(/circuit breaker is open/);
    await failTimes(watcher, 3);
    expect(upstream.requests).toHaveLength(5);
    expect(server.app.threadline.breaker.state).toBe('open');
  });

  it('lets one trial through after the cool-down, and closes on its success', async () => {
    const { upstream, watcher, server } = await startBreakerRig({ breakerCooldownMs: 300 });
    const other = openWatchingClient(server.url);
    upstream.setScript(BROKEN);
    await failTimes(watcher, 5);
    await waitFor(() => watcher.breakerState() === 'open', { what: 'open' });
    await waitFor(() => watcher.breakerState() === 'halfOpen', { what: 'half-open' });
    expect(watcher.statuses().at(-1)?.breaker).toEqual({ state: 'halfOpen' });

    upstream.setScript({ words: ['slow', ' trial', ' answer'], delayMs: 80 });
    const trial = watcher.client.request('trial');
    await waitFor(() => upstream.requests.length === 6, {
      what: 'the trial to reach the upstream',
    });
    // While the trial is in flight, everyone else still fails fast.
    const meanwhile = await ask(other);
    expect(meanwhile.error).toMatchObject({ code: 'upstream_unavailable', retryAfterMs: 300 });
    expect(meanwhile.error?.message).toMatch(/half-open/);
    expect(upstream.requests).toHaveLength(6);

    expect(await trial.result).toEqual({ status: 'done', text: 'slow trial answer' });
    await waitFor(() => watcher.breakerState() === 'closed', { what: 'closed again' });
    expect((await ask(other)).status).toBe('done');
    expect(upstream.requests).toHaveLength(7);
  });

  it('opens again when the trial fails', async () => {
    const { upstream, watcher } = await startBreakerRig({ breakerCooldownMs: 200 });
    upstream.setScript(BROKEN);
    await failTimes(watcher, 5);
    await waitFor(() => watcher.breakerState() === 'halfOpen', { what: 'half-open' });
    const trial = await ask(watcher);
    expect(trial.error?.code).toBe('upstream_unavailable');
    expect(trial.error?.retryAfterMs).toBeGreaterThan(100);
    await waitFor(() => watcher.breakerState() === 'open', { what: 'open again' });
    expect(upstream.requests).toHaveLength(6);
    expect((await ask(watcher)).error?.message).toMatch(/circuit breaker is open/);
    expect(upstream.requests).toHaveLength(6);
    // And it tries again after another cool-down.
    await waitFor(() => watcher.breakerState() === 'halfOpen', { what: 'half-open again' });
    upstream.setScript(HEALTHY);
    expect((await ask(watcher)).status).toBe('done');
    await waitFor(() => watcher.breakerState() === 'closed', { what: 'closed' });
  });

  it('lets the next request be the trial when the trial is cancelled', async () => {
    const { upstream, watcher } = await startBreakerRig({ breakerCooldownMs: 200 });
    upstream.setScript(BROKEN);
    await failTimes(watcher, 5);
    await waitFor(() => watcher.breakerState() === 'halfOpen', { what: 'half-open' });
    upstream.setScript({ words: ['never', ' finished'], delayMs: 5_000 });
    const trial = watcher.client.request('trial');
    await waitFor(() => upstream.requests.length === 6, {
      what: 'the trial to reach the upstream',
    });
    trial.cancel();
    expect((await trial.result).status).toBe('cancelled');
    await waitFor(() => upstream.requests[5]?.aborted, { what: 'the upstream to see the cancel' });
    expect(watcher.breakerState()).toBe('halfOpen');
    upstream.setScript(HEALTHY);
    expect((await ask(watcher)).status).toBe('done');
    expect(upstream.requests).toHaveLength(7);
    await waitFor(() => watcher.breakerState() === 'closed', { what: 'closed' });
  });

  it('counts only consecutive failures of the upstream', async () => {
    const { upstream, watcher, server } = await startBreakerRig();
    upstream.setScript(BROKEN);
    await failTimes(watcher, 4);
    upstream.setScript(HEALTHY);
    expect((await ask(watcher)).status).toBe('done');
    upstream.setScript(BROKEN);
    await failTimes(watcher, 4);
    // A refusal on the request's own merits (400) means the upstream is up: it resets the count.
    upstream.setScript({ status: 400 });
    expect((await ask(watcher)).error).toMatchObject({ code: 'upstream_failed', retryable: false });
    upstream.setScript(BROKEN);
    await failTimes(watcher, 4);
    expect(server.app.threadline.breaker.state).toBe('closed');
    expect(upstream.requests).toHaveLength(14);
    await failTimes(watcher, 1);
    expect(server.app.threadline.breaker.state).toBe('open');
  });

  it('half-opens exactly after the cool-down, on the server clock', async () => {
    const clock = new SimulatedClock();
    const upstream = await startFakeOpenAIUpstream(BROKEN);
    dispose(() => upstream.stop());
    const server = await startServer(
      {
        responder: 'openai',
        openaiBaseUrl: upstream.url,
        heartbeatIntervalMs: 600_000,
        silenceLimitMs: 900_000,
      },
      { clock },
    );
    const watcher = openWatchingClient(server.url);
    await failTimes(watcher, 5);
    await waitFor(() => watcher.breakerState() === 'open', { what: 'open' });
    expect(watcher.statuses().at(-1)?.breaker).toEqual({ state: 'open', retryAfterMs: 30_000 });
    clock.increment(29_999);
    expect(server.app.threadline.breaker.state).toBe('open');
    expect(server.app.threadline.breaker.status()).toEqual({ state: 'open', retryAfterMs: 1 });
    clock.increment(1);
    expect(server.app.threadline.breaker.state).toBe('halfOpen');
    await waitFor(() => watcher.breakerState() === 'halfOpen', { what: 'half-open' });
  });
});
