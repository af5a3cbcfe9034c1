import { describe, expect, it } from 'vitest';
import { ThreadClientError } from '../../client/index.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { dispose, openClient, startServer, waitFor } from '../support/harness.ts';

async function proxied(overrides: Record<string, unknown> = {}) {
  const server = await startServer({ responder: 'counter', ...overrides });
  const proxy = await new FaultProxy({ targetPort: server.port }).start();
  dispose(() => proxy.stop());
  return { server, proxy };
}

describe('the request queue and thread status', () => {
  it('runs one request at a time and reports streaming and queued', async () => {
    const { server } = await proxied();
    const client = openClient(server.url);
    await waitFor(() => client.status().connection === 'linked.open.ready');
    const handles = [client.request('20 1'), client.request('3'), client.request('2')];
    expect(client.status()).toMatchObject({ streaming: true, queued: 2 });
    const results = await Promise.all(handles.map((handle) => handle.result));
    expect(results.map((result) => result.text)).toEqual([
      Array.from({ length: 20 }, (_, i) => `${i}\n`).join(''),
      '0\n1\n2\n',
      '0\n1\n',
    ]);
    expect(client.status()).toMatchObject({ streaming: false, queued: 0 });
  });

  it('keeps requests made while disconnected and sends them after the resume', async () => {
    const { proxy } = await proxied();
    const client = openClient(proxy.url);
    await waitFor(() => client.status().connection === 'linked.open.ready');
    proxy.setMode('refuse');
    proxy.sever();
    await waitFor(() => client.status().connection === 'reconnecting');
    const handles = [client.request('3'), client.request('4')];
    expect(client.status().queued + (client.status().streaming ? 1 : 0)).toBe(2);
    proxy.setMode('pass');
    client.retry();
    const results = await Promise.all(handles.map((handle) => handle.result));
    expect(results.map((result) => result.status)).toEqual(['done', 'done']);
    expect(client.actor.getSnapshot().context.resumed).toBe(true);
  });

  it('refuses a request with a clear error when the queue is full', async () => {
    const { proxy } = await proxied();
    const client = openClient(proxy.url, { queueLimit: 2 });
    proxy.setMode('refuse');
    client.request('1');
    client.request('1');
    expect(() => client.request('1')).toThrowError(ThreadClientError);
    expect(() => client.request('1')).toThrowError(/queue is full \(2 waiting\)/);
  });

  it('fails the request in flight with the reason when the session expired while away', async () => {
    const { proxy } = await proxied({ sessionTtlMs: 100 });
    const client = openClient(proxy.url);
    const handle = client.request('100000 1');
    for await (const _ of handle) break;
    proxy.setMode('refuse');
    proxy.sever();
    await waitFor(() => client.status().connection === 'reconnecting');
    await new Promise((resolve) => setTimeout(resolve, 300)); // longer than the session TTL
    proxy.setMode('pass');
    client.retry();
    const result = await handle.result;
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ code: 'session_lost', retryable: false });
    expect(result.error?.message).toMatch(/expired/);
    // The thread goes on in a new session.
    expect((await client.request('2').result).status).toBe('done');
  });

  it('says goodbye on close: the server ends the session at once', async () => {
    const { server } = await proxied();
    const client = openClient(server.url);
    await client.request('1').result;
    expect(server.app.threadline.store.size).toBe(1);
    await client.close();
    expect(client.actor.getSnapshot().value).toBe('closed');
    await waitFor(() => server.app.threadline.store.size === 0, { what: 'session released' });
  });
});
