/**
 * The browser app at `/`, from the same server as the WebSocket: the Vite build in dist/app
 * (`ui: 'static'`), or the sources through Vite's dev middleware with hot reload (`ui: 'vite'`).
 * A missing build is answered with a page that says how to make one, never with a bare 404.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from './config.ts';

/** Where `npm run build` puts the app. */
export const appDistDir = fileURLToPath(new URL('../dist/app/', import.meta.url));
/** The Vite config of the app (used by `ui: 'vite'` and by scripts/build-app.ts). */
export const appViteConfig = fileURLToPath(
  new URL('../client/app/vite.config.ts', import.meta.url),
);

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Threadline</title>
<body style="font:16px system-ui;margin:3rem;max-width:40rem">
<h1>Threadline</h1><p>The browser app is not built yet. Run <code>npm run build</code>, or start
the server with <code>npm start</code>, which builds it first.</p></body></html>`;

export async function registerApp(app: FastifyInstance, config: ServerConfig): Promise<void> {
  if (config.ui === 'none') return;
  if (config.ui === 'vite') return registerViteDev(app);
  if (!existsSync(`${appDistDir}index.html`)) {
    app.log.warn({ dir: appDistDir }, 'browser app not built: run npm run build');
    app.get('/', (_request, reply) => reply.code(503).type('text/html').send(NOT_BUILT));
    return;
  }
  await app.register(fastifyStatic, {
    root: appDistDir,
    prefix: '/',
    // One route per built file, so every other path stays free for other routes.
    wildcard: false,
    // Leaves `reply.sendFile` to any other static registration.
    decorateReply: false,
    cacheControl: false,
    setHeaders: (response, path) => {
      // Vite names assets by content hash: they never change; index.html always may.
      response.setHeader(
        'cache-control',
        path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
}

/** Vite in middleware mode: transforms on request, hot reload over its own socket (port 24678). */
async function registerViteDev(app: FastifyInstance): Promise<void> {
  const { createServer } = await import('vite');
  const vite = await createServer({
    configFile: appViteConfig,
    server: { middlewareMode: true },
    appType: 'spa',
  });
  app.addHook('onClose', async () => {
    await vite.close();
  });
  const serve = (
    request: { raw: import('node:http').IncomingMessage },
    reply: {
      hijack(): void;
      raw: import('node:http').ServerResponse;
    },
  ) => {
    reply.hijack();
    vite.middlewares(request.raw, reply.raw, () => {
      reply.raw.statusCode = 404;
      reply.raw.end('not found');
    });
  };
  app.get('/', serve);
  app.get('/*', serve);
}
