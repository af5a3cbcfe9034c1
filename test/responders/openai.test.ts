import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createThreadClient, type WebSocketConstructor } from '../../client/index.ts';
import { createOpenAIResponder } from '../../server/responders/openai.ts';
import {
  type FakeUpstream,
  startFakeOpenAIUpstream,
  type UpstreamScript,
} from '../support/fake-openai-upstream.ts';
import { dispose, openClient, startServer, waitFor } from '../support/harness.ts';

async function startUpstream(script?: UpstreamScript): Promise<FakeUpstream> {
  const upstream = await startFakeOpenAIUpstream(script);
  dispose(() => upstream.stop());
  return upstream;
}

function startThreadline(baseUrl: string) {
  return startServer({ responder: 'openai', openaiBaseUrl: baseUrl, openaiModel: 'test-model' });
}

/** A real client whose every incoming frame is also kept, to check what the server sent when. */
function openRecordingClient(url: string) {
  const frames: Array<Record<string, unknown>> = [];
  class RecordingWebSocket extends WebSocket {
    constructor(address: string) {
      super(address);
      this.addEventListener('message', (event) => {
        frames.push(JSON.parse(String(event.data)) as Record<string, unknown>);
      });
    }
  }
  const client = createThreadClient({
    url,
    WebSocket: RecordingWebSocket as unknown as WebSocketConstructor,
  });
  dispose(() => client.close());
  return { client, frames };
}

/** A loopback port that nothing listens on (it was free a moment ago). */
async function unusedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('the openai responder against an OpenAI-compatible upstream', () => {
  it('streams the answer chunk by chunk and sends the model and the message', async () => {
    const words = ['Once', ' upon', ' a', ' time', ' there', ' was', ' a', ' socket.'];
    const upstream = await startUpstream({ words, delayMs: 25 });
    const server = await startThreadline(upstream.url);
    const client = openClient(server.url);

    const handle = client.request('tell me a story');
    const chunks: string[] = [];
    let upstreamDoneAtFirstChunk: boolean | undefined;
    for await (const chunk of handle) {
      upstreamDoneAtFirstChunk ??= upstream.requests[0]?.completed;
      chunks.push(chunk);
    }
    const result = await handle.result;

    expect(result).toEqual({ status: 'done', text: words.join('') });
    // One frame per delta (the empty role-only delta is skipped), forwarded as it came.
    expect(chunks).toEqual(words);
    expect(upstreamDoneAtFirstChunk).toBe(false);
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]).toMatchObject({
      model: 'test-model',
      stream: true,
      messages: [{ role: 'user', content: 'tell me a story' }],
      completed: true,
      aborted: false,
    });
  });

  it('sends the thread history with the next request of the same thread', async () => {
    const upstream = await startUpstream({ words: ['Paris', '.'] });
    const server = await startThreadline(upstream.url);
    const client = openClient(server.url);

    const first = await client.request('What is the capital of France?').result;
    expect(first).toEqual({ status: 'done', text: 'Paris.' });
    upstream.setScript({ words: ['About', ' 2.1', ' million.'] });
    const second = await client.request('How many people live there?').result;

    expect(second).toEqual({ status: 'done', text: 'About 2.1 million.' });
    expect(upstream.requests[1]?.messages).toEqual([
      { role: 'user', content: 'What is the capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'How many people live there?' },
    ]);
  });

  it('aborts the upstream request when the client cancels mid-stream', async () => {
    const words = Array.from({ length: 60 }, (_, i) => `w${i} `);
    // The upstream goes quiet after 3 chunks: only the signal, not a next chunk, can end it.
    const upstream = await startUpstream({ words, delayMs: 10, stallAfter: 3 });
    const server = await startThreadline(upstream.url);
    const { client, frames } = openRecordingClient(server.url);

    const handle = client.request('talk for a while');
    let cancelledAt = 0;
    let received = 0;
    for await (const _chunk of handle) {
      if (++received === 3) {
        cancelledAt = Date.now();
        handle.cancel();
      }
    }
    const result = await handle.result;
    expect(result.status).toBe('cancelled');
    expect(result.text).toBe(words.slice(0, received).join(''));

    await waitFor(() => upstream.requests[0]?.aborted, {
      timeoutMs: 500,
      what: 'the upstream to see the abort',
    });
    const record = upstream.requests[0];
    expect(record?.abortedAt ?? Number.POSITIVE_INFINITY).toBeLessThan(cancelledAt + 500);
    expect(record?.completed).toBe(false);
    expect(record?.chunksSent).toBeLessThan(words.length);

    // A later request on the same socket is a barrier: anything still in flight arrives first.
    upstream.setScript({ words: ['ok'] });
    expect(await client.request('still there?').result).toEqual({ status: 'done', text: 'ok' });
    const mine = frames.filter((frame) => frame.requestId === handle.requestId);
    const end = mine.findIndex((frame) => frame.type === 'cancelled');
    expect(end).toBeGreaterThan(0);
    expect(mine.slice(end + 1)).toEqual([]);
    expect(mine.filter((frame) => frame.type === 'chunk')).toHaveLength(received);
  });

  it('reports an upstream 503 as upstream_unavailable, retryable', async () => {
    const upstream = await startUpstream({ status: 503 });
    const server = await startThreadline(upstream.url);
    const client = openClient(server.url);

    const result = await client.request('hello').result;

    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ code: 'upstream_unavailable', retryable: true });
    // The SDK must not retry on its own: the circuit breaker counts every attempt.
    expect(upstream.requests).toHaveLength(1);
  });

  it('reports an upstream 401 as upstream_failed', async () => {
    const upstream = await startUpstream({ status: 401 });
    const server = await startThreadline(upstream.url);
    const client = openClient(server.url);

    const result = await client.request('hello').result;

    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('upstream_failed');
    expect(upstream.requests).toHaveLength(1);
  });

  it('reports an unreachable upstream as upstream_unavailable', async () => {
    const port = await unusedPort();
    const server = await startThreadline(`http://127.0.0.1:${port}/v1`);
    const client = openClient(server.url);

    const result = await client.request('anyone?').result;

    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ code: 'upstream_unavailable', retryable: true });
  });

  it('reports a stream cut off mid-answer as upstream_unavailable, keeping what arrived', async () => {
    const upstream = await startUpstream({
      words: ['one ', 'two ', 'three ', 'four '],
      dropAfter: 2,
    });
    const server = await startThreadline(upstream.url);
    const client = openClient(server.url);

    const result = await client.request('count').result;

    expect(result.status).toBe('failed');
    expect(result.text).toBe('one two ');
    expect(result.error).toMatchObject({ code: 'upstream_unavailable', retryable: true });
    expect(upstream.requests[0]).toMatchObject({ dropped: true, aborted: false });
  });
});

describe('createOpenAIResponder on its own', () => {
  it('fails a stream that goes silent for longer than the idle timeout', async () => {
    const upstream = await startUpstream({ words: ['first ', 'late'], delayMs: 300 });
    const responder = createOpenAIResponder({
      baseURL: upstream.url,
      apiKey: 'test-key',
      model: 'test-model',
      idleTimeoutMs: 100,
    });
    const controller = new AbortController();
    const chunks: string[] = [];
    const consume = async () => {
      for await (const chunk of responder({ text: 'hi', history: [], signal: controller.signal })) {
        chunks.push(chunk);
      }
    };

    await expect(consume()).rejects.toMatchObject({
      code: 'upstream_unavailable',
      retryable: true,
    });
    expect(chunks).toEqual([]);
    expect(upstream.requests[0]?.authorization).toBe('Bearer test-key');
    await waitFor(() => upstream.requests[0]?.aborted, { what: 'the upstream to see the abort' });
  });
});
