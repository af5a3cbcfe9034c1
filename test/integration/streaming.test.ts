import { describe, expect, it } from 'vitest';
import { openClient, startServer, waitFor } from '../support/harness.ts';

describe('streaming over a real server', () => {
  it('streams 10,000 counter chunks in order, exactly once', async () => {
    const server = await startServer({ responder: 'counter' });
    const client = openClient(server.url);
    const handle = client.request('10000');
    const chunks: string[] = [];
    for await (const chunk of handle) chunks.push(chunk);
    const result = await handle.result;
    expect(result.status).toBe('done');
    expect(chunks).toHaveLength(10_000);
    expect(chunks.every((chunk, i) => chunk === `${i}\n`)).toBe(true);
    expect(result.text).toBe(chunks.join(''));
  });

  it('answers with the local responder by default', async () => {
    const server = await startServer();
    const client = openClient(server.url);
    const result = await client.request('hello there').result;
    expect(result.status).toBe('done');
    expect(result.text).toContain('hello there');
  });

  it('reconnects by itself after the server restarts, and says the old session is gone', async () => {
    const first = await startServer({ responder: 'counter' });
    const client = openClient(first.url);
    await waitFor(() => client.status().connection === 'linked.open.ready', {
      what: 'first connection',
    });
    const firstSession = client.resumeInfo()?.sessionId;
    const closeCodes: Array<number | null> = [];
    const subscription = client.actor.subscribe((snapshot) => {
      if (snapshot.matches('reconnecting')) closeCodes.push(snapshot.context.lastCloseCode);
    });
    await first.close();
    await waitFor(() => closeCodes.length > 0, { what: 'reconnecting' });
    subscription.unsubscribe();
    // The server said it was going away (1001): a retryable close, so the client carries on.
    expect(closeCodes[0]).toBe(1001);
    const second = await startServer({ responder: 'counter', port: first.port });
    client.retry();
    await waitFor(() => client.status().connection === 'linked.open.ready', {
      what: 'reconnected',
    });
    expect(client.actor.getSnapshot().context.connections).toBe(2);
    expect(client.resumeInfo()?.sessionId).not.toBe(firstSession);
    const result = await client.request('3').result;
    expect(result).toEqual({ status: 'done', text: '0\n1\n2\n' });
    await second.close();
  });

  it('keeps the thread attached across heartbeats: a ping is not a lost link', async () => {
    const server = await startServer({ heartbeatIntervalMs: 20, silenceLimitMs: 200 });
    const client = openClient(server.url);
    await waitFor(() => client.status().connection === 'linked.open.ready');
    const link = () => client.thread.getSnapshot().matches({ open: { link: 'attached' } });
    const seen: boolean[] = [];
    const started = Date.now();
    while (Date.now() - started < 150) {
      seen.push(link());
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(seen.every(Boolean)).toBe(true);
  });
});
