/**
 * Keeps `app.close()` from waiting on HTTP sockets that will never end by themselves. Node's
 * `server.close()` waits for every socket, and Fastify closes only the idle keep-alive ones, once,
 * when closing starts. Left open were: a socket whose request was in flight then (a browser keeps
 * it pooled for minutes, past Fastify's 72 s keep-alive timeout), and a socket that has sent no
 * complete request yet, such as a browser's speculative preconnect (Node counts it as busy and
 * waits for its 60 s headers timeout). While closing, answers say `Connection: close`, and every
 * socket with no request in flight is destroyed as soon as it has none.
 *
 * WebSocket sockets are not touched: once upgraded they are the gateway's, which closes them
 * with 1001 itself.
 */
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** How often, while closing, sockets that went idle since are closed. */
const IDLE_SWEEP_MS = 50;

export function closeHttpSocketsOnShutdown(app: FastifyInstance): void {
  const server = app.server;
  /** Every plain HTTP socket, with how many of its requests are still being answered. */
  const inFlight = new Map<Socket, number>();
  let closing = false;

  server.on('connection', (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once('close', () => inFlight.delete(socket));
  });
  server.on('request', (request, response) => {
    const socket = request.socket;
    if (!inFlight.has(socket)) return;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    response.once('close', () => {
      const count = inFlight.get(socket);
      if (count === undefined) return;
      inFlight.set(socket, count - 1);
      if (closing && count === 1) socket.destroy();
    });
  });
  server.on('upgrade', (request) => inFlight.delete(request.socket));

  const closeIdle = () => {
    for (const [socket, count] of inFlight) if (count === 0) socket.destroy();
  };

  app.addHook('preClose', async () => {
    closing = true;
    closeIdle();
    // A request whose headers were still arriving may complete and be answered meanwhile.
    const sweep = setInterval(closeIdle, IDLE_SWEEP_MS);
    sweep.unref();
    server.once('close', () => clearInterval(sweep));
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing && !reply.raw.headersSent) reply.header('connection', 'close');
    return payload;
  });
}
