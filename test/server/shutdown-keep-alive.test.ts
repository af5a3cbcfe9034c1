/**
 * Shutting down must not wait on a browser's pooled HTTP connection. A request in flight when
 * `close()` starts finishes normally, and its keep-alive socket is then closed at once, not left
 * to Fastify's 72 s keep-alive timeout (a browser keeps such sockets open for minutes).
 */
import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { buildServer } from '../../server/app.ts';
import { resolveConfig } from '../../server/config.ts';

function get(url: string, agent: Agent): Promise<{ status: number; connection?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('shutdown and keep-alive HTTP connections', () => {
  it('answers the request in flight, then closes its pooled socket instead of waiting', async () => {
    const config = resolveConfig({ port: 0, host: '127.0.0.1' }, 'test');
    const app = await buildServer({ config });
    let arrived!: () => void;
    const inFlight = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    app.get('/slow', async () => {
      arrived();
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { ok: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    // A pool that, like a browser's, keeps its sockets open and never closes them itself.
    const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    try {
      const answer = get(`http://127.0.0.1:${port}/slow`, agent);
      await inFlight;
      const started = Date.now();
      const closed = app.close();
      expect(await answer).toEqual({ status: 200, connection: 'close' });
      await closed;
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      agent.destroy();
      await app.close();
    }
  });
});
