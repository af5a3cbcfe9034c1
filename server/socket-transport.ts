/**
 * Adapts a ws socket to the session's `Transport`, coalescing the frames produced in one tick
 * into one WebSocket message: a JSON array of frames (a batch, see docs/protocol.md). A fast
 * stream then costs one message, one write and one `JSON.parse` per burst instead of per frame;
 * a lone frame still goes out as a plain object.
 */
import type { Transport } from './session.ts';

export interface SendableSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  readonly bufferedAmount: number;
}

/** A batch is flushed early once it holds this many characters, to bound latency and memory. */
const MAX_BATCH_CHARS = 64 * 1024;

export function createSocketTransport(socket: SendableSocket): Transport {
  let pending: string[] = [];
  let pendingChars = 0;
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const frames = pending;
    pending = [];
    pendingChars = 0;
    socket.send(frames.length === 1 ? (frames[0] as string) : `[${frames.join(',')}]`);
  };

  return {
    send(text) {
      pending.push(text);
      pendingChars += text.length;
      if (pendingChars >= MAX_BATCH_CHARS) flush();
      else if (!scheduled) {
        scheduled = true;
        process.nextTick(flush);
      }
    },
    get bufferedAmount() {
      return socket.bufferedAmount + pendingChars;
    },
    close: (code, reason) => {
      flush();
      socket.close(code, reason);
    },
    terminate: () => socket.terminate(),
  };
}
