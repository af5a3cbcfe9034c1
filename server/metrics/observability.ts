/**
 * Wires observability into one Fastify app: the telemetry the gateway reports to (when metrics
 * are on), `GET /metrics`, `GET /ready`, `GET /health/websocket`, the `/inspect` WebSocket and
 * debug transition logs (inspection), and the optional Stately feed.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../config.ts';
import type { Gateway } from '../gateway.ts';
import { registerHealthRoutes } from '../health/routes.ts';
import { systemStatusFrom } from '../health/system-status.ts';
import { createInspectionHub, type InspectionHub } from '../inspection/inspection-hub.ts';
import { registerInspectorRoute } from '../inspection/routes.ts';
import { attachStatelyInspector } from '../inspection/stately.ts';
import { createPrometheusMetrics } from './prometheus.ts';
import { registerMetricsRoute } from './routes.ts';
import { Telemetry } from './telemetry.ts';

/** The observer to give the gateway: counting telemetry, or null when metrics are off. */
export function createTelemetry(config: ServerConfig): Telemetry | null {
  return config.metrics === 'on' ? new Telemetry() : null;
}

export interface Observability {
  telemetry: Telemetry | null;
  inspection: InspectionHub;
}

declare module 'fastify' {
  interface FastifyInstance {
    observability: Observability;
  }
}

/** Registers the routes and decorates `app.observability`; call after the WebSocket plugin. */
export async function registerObservability(
  app: FastifyInstance,
  config: ServerConfig,
  gateway: Gateway,
  telemetry: Telemetry | null,
): Promise<Observability> {
  const startedAt = telemetry?.startedAt ?? Date.now();
  const status = systemStatusFrom(gateway);
  const inspection = createInspectionHub(gateway.root, app.log, gateway);
  app.addHook('onClose', async () => inspection.dispose());

  if (telemetry) {
    registerMetricsRoute(
      app,
      createPrometheusMetrics({
        telemetry,
        gateway,
        status,
        inspectorClients: () => inspection.listenerCount,
      }),
    );
  }
  registerHealthRoutes(app, { gateway, telemetry, status, limits: config, startedAt });
  if (config.inspect !== 'off') registerInspectorRoute(app, inspection);
  if (config.inspect === 'stately') {
    const detach = await attachStatelyInspector(gateway.root.system, app.log);
    app.addHook('onClose', async () => detach());
  }
  const observability: Observability = { telemetry, inspection };
  app.decorate('observability', observability);
  return observability;
}
