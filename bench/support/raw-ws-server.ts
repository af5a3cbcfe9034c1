/**
 * The baseline: a bare `ws` server speaking just enough of Threadline's frames to be compared with
 * it. `hello` gets a `welcome`; a `request` with text `N` or `N M` streams `accepted`, N `chunk`
 * frames shaped like Threadline's (`{"type":"chunk","seq":…,"requestId":…,"data":"0\n"}`) and
 * `done`; `cancel` stops the stream with `cancelled`; `ack` is ignored. It has none of Threadline's
 * machinery: no validation, no actors, no replay buffer, no heartbeat. A cancel cuts the pacing
 * pause short, as Threadline's AbortSignal does, so cancel latencies compare like with like.
 *
 * It paces and yields as a careful hand-written server would (and as Threadline does): chunks on a
 * schedule kept against the start time, a `setImmediate` every 256 chunks, and a pause while more
 * than 1 MiB is queued on the socket. A `request` naming a stream that is still running re-attaches
 * it to the new socket without replaying anything (the naive reconnect the resume bench compares
 * with): what was produced while no socket was attached is lost.
 */
import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';
import { type WebSocket, WebSocketServer } from 'ws';

const HIGH_WATER_BYTES = 1024 * 1024;
const YIELD_EVERY = 256;

interface RawStream {
  requestId: string;
  socket: WebSocket | null;
  seq: number;
  cancelled: boolean;
  /** Cuts a pacing pause short on cancel, as an AbortSignal does for Threadline's responder. */
  abort: AbortController;
}

export interface RawServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

function parseCount(text: string): { count: number; intervalMs: number } {
  const [count = '0', interval = '0'] = text.trim().split(/\s+/);
  return { count: Number(count), intervalMs: Number(interval) };
}

export async function startRawServer(): Promise<RawServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
  const streams = new Map<string, RawStream>();
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });

  const sendOn = (stream: RawStream, frame: object) => {
    stream.seq++;
    const socket = stream.socket;
    // Detached: the frame is gone, as it would be without a replay buffer.
    if (socket?.readyState === 1) socket.send(JSON.stringify({ seq: stream.seq, ...frame }));
  };

  async function run(stream: RawStream, text: string) {
    const { count, intervalMs } = parseCount(text);
    const { requestId } = stream;
    sendOn(stream, { type: 'accepted', requestId });
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      if (intervalMs > 0) {
        const wait = start + i * intervalMs - performance.now();
        if (wait >= 1)
          await sleep(wait, undefined, { signal: stream.abort.signal }).catch(() => {});
      }
      while (!stream.cancelled && (stream.socket?.bufferedAmount ?? 0) > HIGH_WATER_BYTES) {
        await sleep(2);
      }
      if (stream.cancelled) break;
      stream.seq++;
      const socket = stream.socket;
      if (socket?.readyState === 1) {
        // Same key order and size as Threadline's chunk frames.
        socket.send(JSON.stringify({ type: 'chunk', seq: stream.seq, requestId, data: `${i}\n` }));
      }
      if ((i + 1) % YIELD_EVERY === 0) await yieldToLoop();
    }
    sendOn(stream, { type: stream.cancelled ? 'cancelled' : 'done', requestId });
    streams.delete(requestId);
  }

  wss.on('connection', (socket) => {
    socket.on('error', () => {});
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; requestId?: string; text?: string };
      switch (frame.type) {
        case 'hello':
          socket.send(JSON.stringify({ type: 'welcome', protocol: 1 }));
          return;
        case 'request': {
          const requestId = frame.requestId ?? '';
          const running = streams.get(requestId);
          if (running) {
            running.socket = socket;
            return;
          }
          const stream: RawStream = {
            requestId,
            socket,
            seq: 0,
            cancelled: false,
            abort: new AbortController(),
          };
          streams.set(requestId, stream);
          void run(stream, frame.text ?? '');
          return;
        }
        case 'cancel': {
          const stream = streams.get(frame.requestId ?? '');
          if (stream) {
            stream.cancelled = true;
            stream.abort.abort();
          }
          return;
        }
        default:
          return;
      }
    });
    socket.on('close', () => {
      for (const stream of streams.values()) if (stream.socket === socket) stream.socket = null;
    });
  });

  const address = wss.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    close: async () => {
      for (const stream of streams.values()) {
        stream.cancelled = true;
        stream.abort.abort();
      }
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
