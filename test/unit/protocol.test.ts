import { describe, expect, it } from 'vitest';
import {
  type ClientFrame,
  clampCloseReason,
  MAX_CLOSE_REASON_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
  parseClientFrame,
  parseServerFrame,
  parseServerMessage,
  type ServerFrame,
} from '../../machines/protocol.ts';

/** Runs `parse` and returns the ProtocolError it threw (failing if it threw nothing else). */
function rejection(parse: () => unknown): ProtocolError {
  try {
    parse();
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
  throw new Error('the frame was accepted');
}

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
/** Half of a surrogate pair standing alone: what cutting an emoji in two leaves behind. */
const LONE_SURROGATE = /\p{Cs}/u;

const validClientFrames: ClientFrame[] = [
  { type: 'hello', protocol: 1, threadId: 'thread-1' },
  {
    type: 'hello',
    protocol: 1,
    threadId: '9b2f6c1e-3c1d-4c55-9a8e-0f1e2d3c4b5a',
    resume: { sessionId: 's.1:a_b-c', token: 'tok', lastSeq: 0 },
  },
  { type: 'request', requestId: 'r1', text: 'hello there' },
  { type: 'request', requestId: 'r2', text: '' },
  { type: 'cancel', requestId: 'r1' },
  { type: 'ack', seq: 0 },
  { type: 'ack', seq: 12_345 },
  { type: 'pong' },
  { type: 'bye' },
];

const validServerFrames: ServerFrame[] = [
  {
    type: 'welcome',
    protocol: 1,
    sessionId: 's1',
    token: 'abc',
    resumed: false,
    heartbeatMs: 2000,
    silenceLimitMs: 5000,
  },
  {
    type: 'welcome',
    protocol: 1,
    sessionId: 's1',
    token: 'abc',
    resumed: false,
    lost: { reason: 'expired' },
    heartbeatMs: 2000,
    silenceLimitMs: 5000,
  },
  { type: 'ping' },
  {
    type: 'status',
    thermal: { state: 'normal', celsius: 51.5 },
    breaker: { state: 'open', retryAfterMs: 30_000 },
    draining: false,
  },
  { type: 'accepted', seq: 1, requestId: 'r1' },
  { type: 'chunk', seq: 2, requestId: 'r1', data: '0\n' },
  { type: 'done', seq: 3, requestId: 'r1' },
  { type: 'cancelled', seq: 4, requestId: 'r2' },
  { type: 'cancelled', seq: 5, requestId: 'r3', forced: true },
  { type: 'error', seq: 6, requestId: 'r4', code: 'busy', message: 'busy', retryable: true },
  {
    type: 'error',
    requestId: 'ghost',
    code: 'unknown_request',
    message: 'no request with this id is streaming',
    retryable: false,
  },
];

describe('parseClientFrame', () => {
  it.each(validClientFrames.map((frame) => [frame.type, frame] as const))(
    'accepts a valid %s frame',
    (_type, frame) => {
      expect(parseClientFrame(JSON.stringify(frame))).toEqual(frame);
    },
  );

  it('speaks protocol version 1', () => {
    expect(PROTOCOL_VERSION).toBe(1);
  });

  it.each([
    ['not JSON', 'hello', 4400, 'frame is not valid JSON'],
    ['truncated JSON', '{"type":"pong"', 4400, 'frame is not valid JSON'],
    ['a JSON array', '[{"type":"pong"}]', 4400, 'frame must be a JSON object'],
    ['a JSON string', '"pong"', 4400, 'frame must be a JSON object'],
    ['JSON null', 'null', 4400, 'frame must be a JSON object'],
    ['no type', '{"seq":1}', 4400, "frame requires a string 'type'"],
    ['a numeric type', '{"type":7}', 4400, "frame requires a string 'type'"],
    ['an unknown type', '{"type":"launch"}', 4400, "unknown frame type 'launch'"],
    ['a server frame type', '{"type":"welcome"}', 4400, "unknown frame type 'welcome'"],
    [
      'protocol version 2',
      '{"type":"hello","protocol":2,"threadId":"t"}',
      4426,
      'unsupported protocol version; this server speaks 1',
    ],
    [
      'no protocol version',
      '{"type":"hello","threadId":"t"}',
      4426,
      'unsupported protocol version; this server speaks 1',
    ],
    [
      'the version as a string',
      '{"type":"hello","protocol":"1","threadId":"t"}',
      4426,
      'unsupported protocol version; this server speaks 1',
    ],
    [
      'a hello without threadId',
      '{"type":"hello","protocol":1}',
      4400,
      "'threadId' Invalid input: expected string, received undefined",
    ],
    [
      'a request without requestId',
      '{"type":"request","text":"hi"}',
      4400,
      "'requestId' Invalid input: expected string, received undefined",
    ],
    [
      'a request with numeric text',
      '{"type":"request","requestId":"r1","text":5}',
      4400,
      "'text' Invalid input: expected string, received number",
    ],
    [
      'an ack with a string seq',
      '{"type":"ack","seq":"3"}',
      4400,
      "'seq' Invalid input: expected number, received string",
    ],
    [
      'an ack with a negative seq',
      '{"type":"ack","seq":-1}',
      4400,
      "'seq' Too small: expected number to be >=0",
    ],
    [
      'an ack with a fractional seq',
      '{"type":"ack","seq":1.5}',
      4400,
      "'seq' Invalid input: expected int, received number",
    ],
    [
      'a resume with an empty token',
      '{"type":"hello","protocol":1,"threadId":"t","resume":{"sessionId":"s","token":"","lastSeq":0}}',
      4400,
      "'resume.token' Too small: expected string to have >=1 characters",
    ],
    ['an unknown field', '{"type":"pong","extra":1}', 4400, 'frame Unrecognized key: "extra"'],
  ])('rejects %s', (_name, text, closeCode, message) => {
    const error = rejection(() => parseClientFrame(text));
    expect(error.closeCode).toBe(closeCode);
    expect(error.message).toBe(message);
  });

  it.each([
    ['an empty threadId', { threadId: '' }, "'threadId' must not be empty"],
    [
      'a 129-character threadId',
      { threadId: 't'.repeat(129) },
      "'threadId' must be at most 128 characters",
    ],
    [
      'a threadId with a space',
      { threadId: 'a b' },
      "'threadId' may contain only letters, digits and _ . : -",
    ],
    [
      'a threadId with a slash',
      { threadId: '../etc' },
      "'threadId' may contain only letters, digits and _ . : -",
    ],
    [
      'a threadId with non-ASCII letters',
      { threadId: 'tħread' },
      "'threadId' may contain only letters, digits and _ . : -",
    ],
    [
      'a resume sessionId with a newline',
      { threadId: 't', resume: { sessionId: 'a\nb', token: 'x', lastSeq: 0 } },
      "'resume.sessionId' may contain only letters, digits and _ . : -",
    ],
  ])('rejects a hello with %s with 4400', (_name, fields, message) => {
    const error = rejection(() =>
      parseClientFrame(JSON.stringify({ type: 'hello', protocol: 1, ...fields })),
    );
    expect(error.closeCode).toBe(4400);
    expect(error.message).toBe(message);
  });

  it('accepts an id of exactly 128 characters, and rejects bad request and cancel ids', () => {
    const longest = 'r'.repeat(128);
    expect(parseClientFrame(JSON.stringify({ type: 'cancel', requestId: longest }))).toEqual({
      type: 'cancel',
      requestId: longest,
    });
    const tooLong = rejection(() =>
      parseClientFrame(JSON.stringify({ type: 'request', requestId: `${longest}r`, text: '' })),
    );
    expect(tooLong.closeCode).toBe(4400);
    expect(tooLong.message).toBe("'requestId' must be at most 128 characters");
    const badChars = rejection(() =>
      parseClientFrame(JSON.stringify({ type: 'cancel', requestId: 'r1;drop' })),
    );
    expect(badChars.closeCode).toBe(4400);
    expect(badChars.message).toBe("'requestId' may contain only letters, digits and _ . : -");
  });

  it('keeps every message short enough to be a close reason, whatever the peer sent', () => {
    const hostile = [
      JSON.stringify({ type: '€'.repeat(500) }),
      JSON.stringify({ type: '😀'.repeat(500) }),
      JSON.stringify({ type: 'pong', ['ключ'.repeat(100)]: 1 }),
      JSON.stringify({ type: 'x'.repeat(10_000) }),
    ];
    for (const text of hostile) {
      const error = rejection(() => parseClientFrame(text));
      expect(error.closeCode).toBe(4400);
      expect(error.message.length).toBeGreaterThan(0);
      expect(bytes(error.message)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
      // Cut between code points: no lone surrogate half survives.
      expect(error.message).not.toMatch(LONE_SURROGATE);
    }
  });
});

describe('parseServerFrame', () => {
  it.each(validServerFrames.map((frame, index) => [`${frame.type} #${index}`, frame] as const))(
    'accepts a valid %s frame',
    (_name, frame) => {
      expect(parseServerFrame(JSON.stringify(frame))).toEqual(frame);
    },
  );

  it.each([
    ['not JSON', '<html>', 4400, 'frame is not valid JSON'],
    ['a JSON number', '42', 4400, 'frame must be a JSON object'],
    ['no type', '{}', 4400, "frame requires a string 'type'"],
    ['a client frame type', '{"type":"hello"}', 4400, "unknown frame type 'hello'"],
    [
      'a chunk without data',
      '{"type":"chunk","seq":1,"requestId":"r"}',
      4400,
      "'data' Invalid input: expected string, received undefined",
    ],
    [
      'a chunk with a string seq',
      '{"type":"chunk","seq":"1","requestId":"r","data":"x"}',
      4400,
      "'seq' Invalid input: expected number, received string",
    ],
    [
      'a welcome from another protocol version',
      '{"type":"welcome","protocol":2,"sessionId":"s","token":"t","resumed":false,"heartbeatMs":1,"silenceLimitMs":2}',
      4400,
      "'protocol' Invalid input: expected 1",
    ],
    [
      'a welcome with a zero heartbeat',
      '{"type":"welcome","protocol":1,"sessionId":"s","token":"t","resumed":false,"heartbeatMs":0,"silenceLimitMs":2}',
      4400,
      "'heartbeatMs' Too small: expected number to be >0",
    ],
    [
      'a lost reason outside the list',
      '{"type":"welcome","protocol":1,"sessionId":"s","token":"t","resumed":false,"lost":{"reason":"stolen"},"heartbeatMs":1,"silenceLimitMs":2}',
      4400,
      /^'lost\.reason' Invalid option: expected one of "expired"\|"unknown"\|"overflowed"\|"store_reset"$/,
    ],
  ])('rejects %s', (_name, text, closeCode, message: string | RegExp) => {
    const error = rejection(() => parseServerFrame(text));
    expect(error.closeCode).toBe(closeCode);
    if (typeof message === 'string') expect(error.message).toBe(message);
    else expect(error.message).toMatch(message);
  });

  it('rejects an error frame with an undocumented code, naming the field', () => {
    const error = rejection(() =>
      parseServerFrame(
        JSON.stringify({ type: 'error', code: 'teapot', message: 'm', retryable: false }),
      ),
    );
    expect(error.closeCode).toBe(4400);
    expect(error.message).toMatch(/^'code' Invalid option: expected one of "busy"/);
    expect(bytes(error.message)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
  });
});

describe('parseServerMessage', () => {
  it('reads a lone frame, or a batch of frames in order', () => {
    const [accepted, chunk, done] = validServerFrames.slice(4, 7);
    expect(parseServerMessage(JSON.stringify(accepted))).toEqual([accepted]);
    expect(parseServerMessage(JSON.stringify([accepted, chunk, done]))).toEqual([
      accepted,
      chunk,
      done,
    ]);
  });

  it('rejects an empty batch, and a batch holding one bad frame', () => {
    const empty = rejection(() => parseServerMessage('[]'));
    expect(empty.closeCode).toBe(4400);
    expect(empty.message).toBe('a batch must not be empty');
    const bad = rejection(() =>
      parseServerMessage(JSON.stringify([{ type: 'ping' }, { type: 'chunk', seq: 2 }])),
    );
    expect(bad.closeCode).toBe(4400);
    expect(bad.message).toBe("'requestId' Invalid input: expected string, received undefined");
  });

  it.each([
    ['a negative seq', { type: 'chunk', seq: -1, requestId: 'r', data: 'x' }],
    ['a fractional seq', { type: 'chunk', seq: 1.5, requestId: 'r', data: 'x' }],
    ['a bad requestId', { type: 'chunk', seq: 1, requestId: 'r 1', data: 'x' }],
    ['numeric data', { type: 'chunk', seq: 1, requestId: 'r', data: 1 }],
    ['an extra field', { type: 'chunk', seq: 1, requestId: 'r', data: 'x', extra: true }],
  ])('holds a chunk with %s to the schema', (_name, frame) => {
    expect(rejection(() => parseServerMessage(JSON.stringify([frame]))).closeCode).toBe(4400);
  });
});

describe('clampCloseReason', () => {
  it('leaves a reason that fits alone, and cuts one that does not at a code point', () => {
    expect(clampCloseReason('bye')).toBe('bye');
    const fits = 'x'.repeat(MAX_CLOSE_REASON_BYTES);
    expect(clampCloseReason(fits)).toBe(fits);
    for (const long of [`${'x'.repeat(122)}😀`, `a${'😀'.repeat(40)}`, '€'.repeat(100)]) {
      const cut = clampCloseReason(long);
      expect(cut.endsWith('…')).toBe(true);
      expect(long.startsWith(cut.slice(0, -1))).toBe(true);
      expect(bytes(cut)).toBeGreaterThan(MAX_CLOSE_REASON_BYTES - 8);
      expect(bytes(cut)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
      expect(cut).not.toMatch(LONE_SURROGATE);
    }
  });
});
