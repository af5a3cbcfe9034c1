/**
 * Shutting down must not wait on a browser's HTTP sockets. A request in flight when `close()`
 * starts finishes normally, and its keep-alive socket is then closed at once, not left to
 * Fastify's 72 s keep-alive timeout (a browser keeps such sockets open for minutes); a socket
 * with no request yet (a browser's speculative preconnect) or half a request is closed too, not
 * left to Node's 60 s headers timeout.
 */
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
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

async function startApp() {
  const config = resolveConfig({ port: 0, host: '127.0.0.1' }, 'test');
  const app = await buildServer({ config });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { app, port };
}

/** A raw TCP socket to `port` that has sent `bytes`, and whether the server closed it. */
async function rawSocket(port: number, bytes: string) {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  if (bytes) socket.write(bytes);
  // A FIN or, with unread bytes on the server's side, a reset: either way the server let go.
  const ended = new Promise<'by the server'>((resolve) =>
    socket.once('close', () => resolve('by the server')),
  );
  socket.on('error', () => {});
  return { socket, ended };
}

describe('shutdown and HTTP sockets', () => {
  for (const [what, bytes] of [
    ['a socket that has sent nothing (a preconnect)', ''],
    ['a socket that has sent half a request', 'GET /health HTTP/1.1\r\nHost: x\r\n'],
  ] as const) {
    it(`closes ${what} instead of waiting for it`, async () => {
      const { app, port } = await startApp();
      const peer = await rawSocket(port, bytes);
      try {
        const started = Date.now();
        await app.close();
        expect(Date.now() - started).toBeLessThan(3000);
        expect(await peer.ended).toBe('by the server');
      } finally {
        peer.socket.destroy();
        await app.close();
      }
    });
  }

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
