/**
 * A small OpenAI-compatible upstream for tests: `POST /v1/chat/completions` with `stream: true`
 * answers Server-Sent Events in the real chunk format, following a script that a test can change
 * between requests. It records every request and whether the client hung up before the end, so a
 * test can prove a cancel reached the upstream rather than only the browser.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface UpstreamScript {
  /** The chunks of the answer, one `delta.content` each. */
  words?: readonly string[];
  /** Pause before each chunk. */
  delayMs?: number;
  /** Answer with this HTTP status and an OpenAI-style error body instead of a stream. */
  status?: number;
  /** Destroy the socket after this many chunks, without ending the stream. */
  dropAfter?: number;
  /** Go silent after this many chunks, like a model stuck mid-answer, until the client leaves. */
  stallAfter?: number;
}

export interface RecordedMessage {
  role: string;
  content: string;
}

export interface RecordedRequest {
  model: string;
  messages: RecordedMessage[];
  stream: boolean;
  authorization: string | undefined;
  receivedAt: number;
  /** Content chunks written before the response ended or the client left. */
  chunksSent: number;
  /** The response was ended normally (after `[DONE]` or an error body). */
  completed: boolean;
  /** The client closed the connection before the response ended. */
  aborted: boolean;
  /** The script destroyed the socket mid-stream (`dropAfter`). */
  dropped: boolean;
  abortedAt?: number;
}

export interface FakeUpstream {
  /** The base URL to give the SDK, ending in `/v1`. */
  url: string;
  /** Every chat completion request received, oldest first. */
  requests: RecordedRequest[];
  /** Replaces the script for the requests that follow. */
  setScript(script: UpstreamScript): void;
  stop(): Promise<void>;
}

const DEFAULT_SCRIPT: UpstreamScript = { words: ['Hello', ' from', ' the', ' upstream.'] };

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const parsed: unknown = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}');
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
}

function toMessages(value: unknown): RecordedMessage[] {
  if (!Array.isArray(value)) return [];
  return value.map((item: { role?: unknown; content?: unknown }) => ({
    role: String(item.role),
    content: String(item.content),
  }));
}

function sendError(res: ServerResponse, status: number, message: string) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message, type: 'test_error', param: null, code: null } }));
}

export async function startFakeOpenAIUpstream(
  initial: UpstreamScript = DEFAULT_SCRIPT,
): Promise<FakeUpstream> {
  let script = initial;
  const requests: RecordedRequest[] = [];
  // Pending delays end at once when the upstream stops, so no timer outlives a test.
  const stopping = new AbortController();
  let completionCount = 0;

  async function streamAnswer(
    res: ServerResponse,
    record: RecordedRequest,
    current: UpstreamScript,
    left: AbortSignal,
  ) {
    const id = `chatcmpl-test-${++completionCount}`;
    const created = Math.floor(Date.now() / 1000);
    let flushed = Promise.resolve();
    const write = (delta: Record<string, unknown>, finishReason: string | null = null) => {
      const chunk = {
        id,
        object: 'chat.completion.chunk',
        created,
        model: record.model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      };
      flushed = new Promise((resolve) =>
        res.write(`data: ${JSON.stringify(chunk)}\n\n`, () => resolve()),
      );
    };
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    // Like OpenAI, the first chunk names the role and carries no text.
    write({ role: 'assistant', content: '' });
    const signal = AbortSignal.any([left, stopping.signal]);
    // Cut only once what was written has left, so the client sees exactly `dropAfter` chunks.
    const drop = async () => {
      record.dropped = true;
      await flushed;
      res.socket?.destroy();
    };
    for (const word of current.words ?? []) {
      if (current.dropAfter !== undefined && record.chunksSent >= current.dropAfter) return drop();
      if (current.stallAfter !== undefined && record.chunksSent >= current.stallAfter) {
        if (!signal.aborted) {
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        }
        return;
      }
      if (current.delayMs) {
        try {
          await sleep(current.delayMs, undefined, { signal });
        } catch {
          return;
        }
      }
      if (signal.aborted) return;
      write({ content: word });
      record.chunksSent++;
    }
    if (current.dropAfter !== undefined && record.chunksSent >= current.dropAfter) return drop();
    write({}, 'stop');
    res.end('data: [DONE]\n\n');
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      return sendError(res, 404, `no route for ${req.method} ${req.url}`);
    }
    const body = await readJson(req);
    const record: RecordedRequest = {
      model: String(body.model),
      messages: toMessages(body.messages),
      stream: body.stream === true,
      authorization: req.headers.authorization,
      receivedAt: Date.now(),
      chunksSent: 0,
      completed: false,
      aborted: false,
      dropped: false,
    };
    requests.push(record);
    const left = new AbortController();
    // `res` closes before it finished only when the connection went away under it; the
    // request's own `close` fires as soon as its body has been read, so it cannot tell.
    res.on('close', () => {
      if (res.writableFinished) {
        record.completed = true;
      } else if (!record.dropped && !stopping.signal.aborted) {
        record.aborted = true;
        record.abortedAt = Date.now();
      }
      left.abort();
    });
    const current = script;
    if (current.status !== undefined) {
      return sendError(res, current.status, `scripted failure ${current.status}`);
    }
    if (!record.stream) return sendError(res, 400, 'this fake upstream only streams');
    await streamAnswer(res, record, current, left.signal);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, String(error));
      else res.destroy();
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    setScript(next) {
      script = next;
    },
    async stop() {
      stopping.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
