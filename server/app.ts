/**
 * Builds the Fastify app — HTTP routes and the `/ws` WebSocket endpoint over the gateway —
 * without listening, so tests can start it on port 0 and `main.ts` can own the process.
 */
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { InspectionEvent } from 'xstate';
import { CloseCode } from '../machines/close-codes.ts';
import type { Clock } from './clock.ts';
import { resolveConfig, type ServerConfig } from './config.ts';
import { createGateway, type Gateway } from './gateway.ts';
import { closeHttpSocketsOnShutdown } from './http-shutdown.ts';
import { registerInspectionStatusRoute } from './inspection/routes.ts';
import { createTelemetry, registerObservability } from './metrics/observability.ts';
import { createResponder } from './responders/index.ts';
import type { Responder } from './responders/responder.ts';
import { registerApp } from './static.ts';

export interface BuildServerOptions {
  config?: ServerConfig;
  /** Replaces the responder the config names (tests inject their own). */
  responder?: Responder;
  clock?: Clock;
  inspect?: (event: InspectionEvent) => void;
}

declare module 'fastify' {
  interface FastifyInstance {
    threadline: Gateway;
  }
}

export async function buildServer(options: BuildServerOptions = {}): Promise<FastifyInstance> {
  const config = options.config ?? resolveConfig({}, 'development');
  const app = Fastify({
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel },
  });
  const telemetry = createTelemetry(config);
  const gateway = createGateway({
    config,
    responder: options.responder ?? createResponder(config),
    logger: app.log,
    clock: options.clock,
    inspect: options.inspect,
    observer: telemetry ?? undefined,
  });
  app.decorate('threadline', gateway);
  closeHttpSocketsOnShutdown(app);

  // ws enforces a hard cap itself (1009); frames between our limit and it get our 4413.
  await app.register(websocket, {
    options: { maxPayload: Math.max(config.maxFrameBytes * 4, 1024 * 1024) },
    // Open sockets would hold server.close() forever: close them with 1001, and say why.
    preClose: (done) => {
      gateway.stop(CloseCode.GoingAway, 'server shutting down');
      done();
    },
  });

  app.get('/health', async () => ({ status: 'ok' }));
  await registerApp(app, config);
  // /metrics, /ready, /health/websocket, /inspect (see server/metrics/observability.ts).
  await registerObservability(app, config, gateway, telemetry);
  registerInspectionStatusRoute(app, config.inspect);

  app.get('/ws', { websocket: true }, (socket, request) => {
    gateway.handleSocket(socket, {
      remoteAddress: request.ip,
      origin: request.headers.origin,
      host: request.headers.host,
    });
  });

  return app;
}
