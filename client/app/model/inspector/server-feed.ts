/**
 * The server's side of the inspector, for the browser: whether the server serves inspection
 * (`GET /inspect/status`), and its `/inspect` WebSocket as batches of messages.
 */
import type { InspectorMessage } from './actor-store.ts';

export interface ServerInspection {
  /** Whether `/inspect` is served (`inspect` is `local` or `stately`). */
  enabled: boolean;
  /** The server's `inspect` setting. */
  mode: string;
}

export async function checkInspection(
  base: string,
  signal?: AbortSignal,
): Promise<ServerInspection> {
  const response = await fetch(new URL('/inspect/status', base), {
    signal: signal ?? null,
    headers: { accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`GET /inspect/status answered ${response.status}`);
  const body: unknown = await response.json();
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  return {
    enabled: record.enabled === true,
    mode: typeof record.mode === 'string' ? record.mode : 'unknown',
  };
}

/** The `/inspect` WebSocket URL of the server at `base` (an http(s) URL). */
export function inspectUrl(base: string): string {
  const url = new URL('/inspect', base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

const MESSAGE_TYPES = new Set(['hello', 'actor', 'snapshot', 'event', 'dropped']);

function parseMessage(data: unknown): InspectorMessage | null {
  if (typeof data !== 'string') return null;
  try {
    const parsed: unknown = JSON.parse(data);
    if (typeof parsed !== 'object' || parsed === null) return null;
    const type = (parsed as { type?: unknown }).type;
    return typeof type === 'string' && MESSAGE_TYPES.has(type)
      ? (parsed as InspectorMessage)
      : null;
  } catch {
    return null;
  }
}

export interface ServerFeedHandlers {
  opened(): void;
  messages(batch: InspectorMessage[]): void;
  closed(code: number, reason: string): void;
}

/** Opens the feed; the returned function closes it (and no handler is called after that). */
export function openServerFeed(
  url: string,
  handlers: ServerFeedHandlers,
  batchMs = 50,
): () => void {
  const socket = new WebSocket(url);
  let pending: InspectorMessage[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let done = false;
  const flush = () => {
    timer = null;
    if (done || pending.length === 0) return;
    const batch = pending;
    pending = [];
    handlers.messages(batch);
  };
  socket.onopen = () => {
    if (!done) handlers.opened();
  };
  socket.onmessage = (event) => {
    const message = parseMessage(event.data);
    if (!message || done) return;
    pending.push(message);
    // The hello goes at once: the page shows the actors as soon as it can.
    if (message.type === 'hello') flush();
    else timer ??= setTimeout(flush, batchMs);
  };
  socket.onerror = () => {};
  socket.onclose = (event) => {
    if (done) return;
    flush();
    done = true;
    handlers.closed(event.code, event.reason);
  };
  return () => {
    done = true;
    if (timer !== null) clearTimeout(timer);
    socket.onmessage = socket.onclose = null;
    // Closing a socket still connecting makes Chromium log an error: close it once it opens.
    if (socket.readyState === WebSocket.CONNECTING) {
      socket.onopen = () => socket.close(1000, 'inspector closed');
    } else if (socket.readyState === WebSocket.OPEN) {
      socket.close(1000, 'inspector closed');
    }
  };
}
