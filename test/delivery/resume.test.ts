import { describe, expect, it } from 'vitest';
import { FaultProxy } from '../support/fault-proxy.ts';
import { dispose, openClient, startServer, waitFor } from '../support/harness.ts';

async function startProxy(targetPort: number): Promise<FaultProxy> {
  const proxy = await new FaultProxy({ targetPort }).start();
  dispose(() => proxy.stop());
  return proxy;
}

describe('lossless resume', () => {
  it('delivers all 10,000 chunks exactly once and in order across 5 severed connections', async () => {
    const server = await startServer({ responder: 'counter' });
    const proxy = await startProxy(server.port);
    const client = openClient(proxy.url);
    const handle = client.request('10000 0.2');
    const chunks: string[] = [];
    let severs = 0;
    for await (const chunk of handle) {
      chunks.push(chunk);
      // Sever at five points spread over the stream, each once the link is back up.
      if (severs < 5 && chunks.length >= (severs + 1) * 1600 && proxy.links.size > 0) {
        proxy.sever();
        severs++;
      }
    }
    const result = await handle.result;
    expect(severs).toBe(5);
    expect(result.status).toBe('done');
    expect(chunks).toHaveLength(10_000);
    expect(chunks.every((chunk, i) => chunk === `${i}\n`)).toBe(true);
    expect(client.actor.getSnapshot().context.connections).toBe(6);
    expect(client.actor.getSnapshot().context.resumed).toBe(true);
  });

  it('notices a blackholed link within 5 s with the default preset, resumes, and loses nothing', async () => {
    const server = await startServer({
      responder: 'counter',
      heartbeatIntervalMs: 2000,
      silenceLimitMs: 5000,
    });
    const proxy = await startProxy(server.port);
    const client = openClient(proxy.url);
    const handle = client.request('3000 1');
    const chunks: string[] = [];
    let blackholedAt = 0;
    let detectedAfter = 0;
    for await (const chunk of handle) {
      chunks.push(chunk);
      if (chunks.length === 500) {
        proxy.setMode('blackhole');
        blackholedAt = Date.now();
        // New connections must get through again once the client notices.
        setTimeout(() => proxy.setMode('pass'), 100);
        waitFor(() => client.status().connection === 'reconnecting', { timeoutMs: 8000 }).then(
          () => {
            detectedAfter = Date.now() - blackholedAt;
          },
          () => {},
        );
      }
    }
    const result = await handle.result;
    expect(result.status).toBe('done');
    expect(chunks.every((chunk, i) => chunk === `${i}\n`)).toBe(true);
    expect(chunks).toHaveLength(3000);
    expect(detectedAfter).toBeGreaterThan(0);
    expect(detectedAfter).toBeLessThanOrEqual(5500);
    expect(client.status().lastCloseCode).toBe(4408);
  }, 20_000);
});
