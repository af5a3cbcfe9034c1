/** `GET /metrics`: the Prometheus text exposition of this server's own registry. */
import type { FastifyInstance } from 'fastify';
import type { PrometheusMetrics } from './prometheus.ts';

export function registerMetricsRoute(app: FastifyInstance, metrics: PrometheusMetrics): void {
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.scrape();
    return reply.header('content-type', metrics.contentType).send(text);
  });
  app.addHook('onClose', async () => metrics.dispose());
}
