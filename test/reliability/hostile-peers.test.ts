import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openClient, openRawSocket, startServer, waitFor } from '../support/harness.ts';

/** Streams a counter answer on a well-behaved client, to show the server serves it meanwhile. */
async function streamsMeanwhile(url: string) {
  const client = openClient(url);
  const result = await client.request('2000').result;
  expect(result.status).toBe('done');
  expect(result.text.split('\n')).toHaveLength(2001);
}

describe('hostile peers', () => {
  it('closes a socket from a disallowed Origin with 4403, and serves same-origin and listed ones', async () => {
    const server = await startServer({
      responder: 'counter',
      allowedOrigins: 'https://app.example',
    });
    const evil = await openRawSocket(server.url, { origin: 'https://evil.example' });
    expect(await evil.closed).toEqual({ code: 4403, reason: 'origin not allowed' });
    for (const origin of ['https://app.example', `http://127.0.0.1:${server.port}`]) {
      const good = await openRawSocket(server.url, { origin });
      good.send({ type: 'hello', protocol: 1, threadId: 't1' });
      expect(await good.next()).toMatchObject({ type: 'welcome' });
    }
    await streamsMeanwhile(server.url);
  });

  it('closes a flooding socket with 4429 while another client streams', async () => {
    const server = await startServer({
      responder: 'counter',
      rateLimitPerSecond: 50,
      rateLimitBurst: 100,
    });
    const flood = await openRawSocket(server.url);
    flood.send({ type: 'hello', protocol: 1, threadId: 'flood' });
    await flood.next();
    const meanwhile = streamsMeanwhile(server.url);
    // Cancels for requests that do not exist: each costs the server a reply, so each counts fully.
    for (let i = 0; i < 500 && flood.ws.readyState === WebSocket.OPEN; i++) {
      flood.send({ type: 'cancel', requestId: `nope-${i}` });
    }
    expect(await flood.closed).toEqual({ code: 4429, reason: 'rate limited' });
    await meanwhile;
  });

  it('closes a consumer that stops reading with 1013, memory stays bounded, others stream on', async () => {
    const server = await startServer({
      responder: 'counter',
      sendHighWaterBytes: 64 * 1024,
      slowConsumerTimeoutMs: 300,
      replayBufferFrames: 1_000_000,
      replayBufferBytes: 64 * 1024 * 1024,
    });
    const stuck = await openRawSocket(server.url);
    stuck.send({ type: 'hello', protocol: 1, threadId: 'stuck' });
    await stuck.next();
    stuck.send({ type: 'request', requestId: 'r1', text: '10000000' });
    // Stop reading: TCP fills up, and the server's send buffer with it.
    (stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await streamsMeanwhile(server.url);
    const session = [...server.app.threadline.store.values()].find((s) => s.threadId === 'stuck');
    // Closed with 1013, then cut, since a peer that does not read cannot finish a close handshake.
    await waitFor(() => session?.transport === null, { what: 'the slow socket dropped' });
    (stuck.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect([1006, 1013]).toContain((await stuck.closed).code);
    // The stream paused instead of buffering without bound: far fewer than 10 million chunks.
    expect(session?.lastSeq ?? 0).toBeLessThan(2_000_000);
    expect(session?.bufferedBytes ?? 0).toBeLessThan(64 * 1024 * 1024);
  });
});
