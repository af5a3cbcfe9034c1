/**
 * Keeps `app.close()` from waiting on pooled HTTP connections. Fastify closes the idle ones once,
 * when closing starts; a request already in flight then leaves its keep-alive socket open after
 * its answer, and a browser holds such sockets for minutes while the server waits out its 72 s
 * keep-alive timeout. Answers sent while closing say `Connection: close`, and sockets that
 * turn idle anyway are closed as they do.
 */
import type { FastifyInstance } from 'fastify';

/** How often, while closing, sockets that went idle since are closed. */
const IDLE_SWEEP_MS = 100;

export function closeKeepAliveOnShutdown(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    const server = app.server;
    const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    sweep.unref();
    server.once('close', () => clearInterval(sweep));
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing && !reply.raw.headersSent) reply.header('connection', 'close');
    return payload;
  });
}
