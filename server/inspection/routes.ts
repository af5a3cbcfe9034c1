/**
 * `GET /inspect` (WebSocket): streams the server's inspection messages (see `describe.ts`) to a
 * live statechart page. Registered only when inspection is enabled (`inspect` ≠ `off`; the
 * production preset turns it off). A page that reads too slowly has messages skipped rather
 * than buffered without bound, and is told how many with a `dropped` message.
 */
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { CloseCode } from '../../machines/close-codes.ts';
import type { InspectionHub } from './inspection-hub.ts';

/** Above this many unsent bytes a page's messages are skipped until it catches up. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** What `GET /inspect/status` answers: whether this server serves `/inspect`. */
export interface InspectionStatus {
  enabled: boolean;
  mode: 'off' | 'local' | 'stately';
}

/**
 * `GET /inspect/status`, registered whatever the setting, so the inspector page can say plainly
 * that inspection is off (rather than fail to open a socket) and never touches `/inspect` then.
 */
export function registerInspectionStatusRoute(
  app: FastifyInstance,
  mode: InspectionStatus['mode'],
): void {
  const body: InspectionStatus = { enabled: mode !== 'off', mode };
  app.get('/inspect/status', async (_request, reply) =>
    reply.header('cache-control', 'no-store').send(body),
  );
}

export function registerInspectorRoute(app: FastifyInstance, hub: InspectionHub): void {
  const pages = new Set<WebSocket>();

  app.get('/inspect', { websocket: true }, (socket, request) => {
    const log = request.log.child({ inspector: true });
    pages.add(socket);
    let dropped = 0;
    const stop = hub.watch((text) => {
      if (socket.readyState !== socket.OPEN) return;
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        dropped++;
        return;
      }
      if (dropped > 0) {
        socket.send(JSON.stringify({ type: 'dropped', count: dropped }));
        dropped = 0;
      }
      socket.send(text);
    });
    log.info({ pages: pages.size }, 'inspector page connected');
    socket.on('error', (error) => log.warn({ err: error }, 'inspector socket error'));
    socket.on('close', () => {
      stop();
      pages.delete(socket);
      log.info({ pages: pages.size }, 'inspector page left');
    });
  });

  // The WebSocket plugin's preClose only closes the gateway's sockets: close the pages too.
  app.addHook('preClose', async () => {
    for (const page of pages) page.close(CloseCode.GoingAway, 'server shutting down');
  });
}
