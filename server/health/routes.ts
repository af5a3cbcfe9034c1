/**
 * Health routes besides the liveness probe (`GET /health`, in app.ts): readiness for load
 * balancers and orchestrators, and the transport's health as JSON.
 */
import type { FastifyInstance } from 'fastify';
import { type WebsocketHealthSources, websocketHealth } from './websocket-health.ts';

export interface Readiness {
  ready: boolean;
  /** Why not, when not ready. */
  reason?: 'draining' | 'critical';
}

export function registerHealthRoutes(app: FastifyInstance, sources: WebsocketHealthSources): void {
  const { status } = sources;

  /** 503 while the server admits no new work: draining (or stopped), or critically hot. */
  app.get('/ready', async (_request, reply) => {
    let body: Readiness = { ready: true };
    if (status.draining()) body = { ready: false, reason: 'draining' };
    else if (status.thermal().state === 'critical') body = { ready: false, reason: 'critical' };
    return reply.code(body.ready ? 200 : 503).send(body);
  });

  app.get('/health/websocket', async () => websocketHealth(sources));
}
