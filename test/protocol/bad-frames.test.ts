import { describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import type { ThreadClient } from '../../client/index.ts';
import { MAX_CLOSE_REASON_BYTES } from '../../machines/protocol.ts';
import {
  openClient,
  openRawSocket,
  type RawSocket,
  startServer,
  waitFor,
} from '../support/harness.ts';

const HELLO = { type: 'hello', protocol: 1, threadId: 'hostile-thread' };

/** The bystander's request: counter chunks paced 4 ms apart, long enough to overlap each case. */
const STREAM_CHUNKS = 150;
const STREAM_REQUEST = `${STREAM_CHUNKS} 4`;

interface BadFrameCase {
  name: string;
  /** Whether the socket completes the handshake before misbehaving. */
  handshake: boolean;
  /** What it does wrong; `victim` is the well-behaved client streaming meanwhile. */
  misbehave: (raw: RawSocket, victim: ThreadClient) => void;
  /** The browser Origin the hostile socket claims, if any. */
  origin?: string;
  code: number;
  /** What the close reason must match: every close of ours says why. */
  reason: RegExp;
}

const sendText = (text: string) => (raw: RawSocket) => raw.ws.send(text);

const cases: BadFrameCase[] = [
  {
    name: 'a handshake that never comes',
    handshake: false,
    misbehave: () => {},
    code: 4408,
    reason: /handshake timeout/,
  },
  {
    name: 'a resume of another client’s session',
    handshake: false,
    misbehave: (raw, victim) => {
      const { sessionId, lastSeq } = victim.resumeInfo() ?? { sessionId: 'none', lastSeq: 0 };
      raw.send({
        ...HELLO,
        threadId: victim.threadId,
        resume: { sessionId, token: 'guessed-token-guessed-token-guessed', lastSeq },
      });
    },
    code: 4403,
    reason: /^resume refused$/,
  },
  {
    name: 'a very long id',
    handshake: true,
    misbehave: (raw) => raw.send({ type: 'cancel', requestId: 'x'.repeat(200) }),
    code: 4400,
    reason: /at most 128 characters/,
  },
  {
    name: 'a request flood',
    handshake: true,
    misbehave: (raw) => {
      for (let i = 0; i < 400; i++) raw.send({ type: 'cancel', requestId: `flood-${i}` });
    },
    code: 4429,
    reason: /rate limited/,
  },
  {
    name: 'a socket from a disallowed Origin',
    handshake: false,
    origin: 'https://evil.example',
    misbehave: () => {},
    code: 4403,
    reason: /origin not allowed/,
  },
  {
    name: 'a frame that is not JSON',
    handshake: true,
    misbehave: sendText('this is not json'),
    code: 4400,
    reason: /not valid JSON/,
  },
  {
    name: 'a frame of unknown type',
    handshake: true,
    misbehave: (raw) => raw.send({ type: 'launch', target: 'moon' }),
    code: 4400,
    reason: /unknown frame type 'launch'/,
  },
  {
    name: 'a hello with the wrong protocol version',
    handshake: false,
    misbehave: (raw) => raw.send({ ...HELLO, protocol: 2 }),
    code: 4426,
    reason: /protocol version/,
  },
  {
    name: 'a request with a missing field',
    handshake: true,
    misbehave: (raw) => raw.send({ type: 'request', text: '3' }),
    code: 4400,
    reason: /'requestId'/,
  },
  {
    name: 'an ack with a mistyped field',
    handshake: true,
    misbehave: (raw) => raw.send({ type: 'ack', seq: 'three' }),
    code: 4400,
    reason: /'seq'/,
  },
  {
    name: 'a hello with a badly-charactered threadId',
    handshake: false,
    misbehave: (raw) => raw.send({ ...HELLO, threadId: 'a thread/with spaces' }),
    code: 4400,
    reason: /'threadId'/,
  },
  {
    name: 'a hello with an unknown field',
    handshake: false,
    misbehave: (raw) => raw.send({ ...HELLO, admin: true }),
    code: 4400,
    reason: /Unrecognized key/,
  },
  {
    name: 'a request before hello',
    handshake: false,
    misbehave: (raw) => raw.send({ type: 'request', requestId: 'r1', text: '3' }),
    code: 4400,
    reason: /'hello' must be the first frame/,
  },
  {
    name: 'a second hello',
    handshake: true,
    misbehave: (raw) => raw.send(HELLO),
    code: 4400,
    reason: /hello sent twice/,
  },
  {
    name: 'a binary frame',
    handshake: true,
    misbehave: (raw) => raw.ws.send(Buffer.from([0x7b, 0x7d]), { binary: true }),
    code: 4400,
    reason: /binary/,
  },
  {
    name: 'a frame larger than maxFrameBytes',
    handshake: true,
    misbehave: (raw) => raw.send({ type: 'request', requestId: 'big', text: 'x'.repeat(2000) }),
    code: 4413,
    reason: /exceeds 1024 bytes/,
  },
  {
    // Above the WebSocket library's own cap (4 × maxFrameBytes, at least 1 MiB) ws refuses the
    // frame before the gateway sees it, and closes with 1009 and no reason of its own.
    name: 'a frame above the hard payload cap',
    handshake: true,
    misbehave: (raw) => raw.ws.send('x'.repeat(1024 * 1024 + 1)),
    code: 1009,
    reason: /^$/,
  },
  {
    // The close reason quotes the type: in bytes it would overflow what a close frame can carry.
    name: 'an unknown type spelled in multi-byte characters',
    handshake: true,
    misbehave: (raw) => raw.send({ type: '€'.repeat(60) }),
    code: 4400,
    reason: /unknown frame type/,
  },
];

/** Resolves once `ws` has sent a ping and the server's pong came back. */
function roundTrip(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    ws.once('pong', () => resolve());
    ws.ping();
  });
}

describe('a server receiving bad frames', () => {
  it.each(cases)('closes on $name with $code and goes on serving others', async (badCase) => {
    const server = await startServer({
      responder: 'counter',
      maxFrameBytes: 1024,
      handshakeTimeoutMs: 200,
    });
    const bystander = openClient(server.url);
    const handle = bystander.request(STREAM_REQUEST);
    const chunks: string[] = [];
    const reading = (async () => {
      for await (const chunk of handle) chunks.push(chunk);
    })();
    await waitFor(() => chunks.length > 0, { what: 'the first chunk of the bystander' });

    const raw = await openRawSocket(server.url, badCase.origin ? { origin: badCase.origin } : {});
    if (badCase.handshake) {
      raw.send(HELLO);
      expect(await raw.next()).toMatchObject({ type: 'welcome', resumed: false });
    }
    badCase.misbehave(raw, bystander);
    const closed = await raw.closed;
    const chunksAtClose = chunks.length;

    expect(closed.code).toBe(badCase.code);
    expect(closed.reason).toMatch(badCase.reason);
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
    // The bad socket was cut while the other client's answer was still streaming…
    expect(chunksAtClose).toBeLessThan(STREAM_CHUNKS);

    // …and that answer went on to the end, in order, over the same connection.
    await reading;
    expect(await handle.result).toMatchObject({ status: 'done' });
    expect(chunks).toHaveLength(STREAM_CHUNKS);
    expect(chunks.every((chunk, i) => chunk === `${i}\n`)).toBe(true);
    expect(bystander.status().connection).toBe('linked.open.ready');
    expect(bystander.actor.getSnapshot().context.connections).toBe(1);
    await waitFor(() => server.app.threadline.connectionCount === 1, {
      what: 'the server to let go of the bad socket',
    });

    // A newcomer is still served after the bad socket is gone.
    const newcomer = await openRawSocket(server.url);
    newcomer.send({ ...HELLO, threadId: 'newcomer' });
    expect(await newcomer.next()).toMatchObject({ type: 'welcome' });
    await roundTrip(newcomer.ws);
  });
});
