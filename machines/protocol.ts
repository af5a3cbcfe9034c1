/**
 * The Threadline wire protocol, shared by server and client: every frame as a zod schema, the
 * TypeScript types derived from them, and one parser per direction that throws a precise
 * `ProtocolError` naming the close code the peer is owed. docs/protocol.md documents each frame.
 */
import { z } from 'zod';
import { CloseCode } from './close-codes.ts';

export const PROTOCOL_VERSION = 1;

/** Client-made identifiers: URL-safe, short enough to log, long enough for a UUID. */
const id = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9_.:-]+$/, 'may contain only letters, digits and _ . : -');
const seq = z.number().int().nonnegative();

// ---------------------------------------------------------------- client → server

export const helloFrame = z.strictObject({
  type: z.literal('hello'),
  protocol: z.literal(PROTOCOL_VERSION),
  threadId: id,
  /**
   * The owner credential: a random secret the client makes and keeps (until authentication
   * exists). A thread belongs to the owner that first said hello for it; another owner's thread
   * is refused with 4403. Absent: the server treats the connection as an anonymous owner of its own.
   */
  owner: z.optional(
    z
      .string()
      .min(16, 'must be at least 16 characters')
      .max(128)
      .regex(/^[A-Za-z0-9_.:-]+$/, 'may contain only letters, digits and _ . : -'),
  ),
  resume: z.optional(
    z.strictObject({ sessionId: id, token: z.string().min(1).max(256), lastSeq: seq }),
  ),
});
export const requestFrame = z.strictObject({
  type: z.literal('request'),
  requestId: id,
  text: z.string(),
});
export const cancelFrame = z.strictObject({ type: z.literal('cancel'), requestId: id });
export const ackFrame = z.strictObject({ type: z.literal('ack'), seq });
export const pongFrame = z.strictObject({ type: z.literal('pong') });
export const byeFrame = z.strictObject({ type: z.literal('bye') });

export const clientFrame = z.discriminatedUnion('type', [
  helloFrame,
  requestFrame,
  cancelFrame,
  ackFrame,
  pongFrame,
  byeFrame,
]);

export type HelloFrame = z.infer<typeof helloFrame>;
export type RequestFrame = z.infer<typeof requestFrame>;
export type CancelFrame = z.infer<typeof cancelFrame>;
export type AckFrame = z.infer<typeof ackFrame>;
export type ClientFrame = z.infer<typeof clientFrame>;

// ---------------------------------------------------------------- server → client

/** Why a session could not be resumed. */
export const sessionLossReason = z.enum(['expired', 'unknown', 'overflowed', 'store_reset']);
export type SessionLossReason = z.infer<typeof sessionLossReason>;

/** Error codes a request can end with, and errors about a frame the server would not act on. */
export const errorCode = z.enum([
  'busy',
  'overheated',
  'upstream_unavailable',
  'upstream_failed',
  'draining',
  'unknown_request',
  'session_lost',
  'queue_full',
  'internal',
]);
export type ErrorCode = z.infer<typeof errorCode>;

const thermalState = z.enum(['unavailable', 'normal', 'throttled', 'critical']);
const breakerState = z.enum(['closed', 'open', 'halfOpen']);

export const welcomeFrame = z.strictObject({
  type: z.literal('welcome'),
  protocol: z.literal(PROTOCOL_VERSION),
  sessionId: id,
  token: z.string(),
  resumed: z.boolean(),
  /** Present when a resume was asked for and could not be granted: a new session was started. */
  lost: z.optional(z.strictObject({ reason: sessionLossReason })),
  heartbeatMs: z.number().int().positive(),
  silenceLimitMs: z.number().int().positive(),
});
export const pingFrame = z.strictObject({ type: z.literal('ping') });
export const statusFrame = z.strictObject({
  type: z.literal('status'),
  thermal: z.strictObject({ state: thermalState, celsius: z.number() }),
  breaker: z.strictObject({ state: breakerState, retryAfterMs: z.optional(z.number()) }),
  draining: z.boolean(),
});
export const acceptedFrame = z.strictObject({ type: z.literal('accepted'), seq, requestId: id });
export const chunkFrame = z.strictObject({
  type: z.literal('chunk'),
  seq,
  requestId: id,
  data: z.string(),
});
export const doneFrame = z.strictObject({ type: z.literal('done'), seq, requestId: id });
export const cancelledFrame = z.strictObject({
  type: z.literal('cancelled'),
  seq,
  requestId: id,
  /** True when the responder did not stop in time and the server gave up waiting for it. */
  forced: z.optional(z.boolean()),
});
/**
 * The request's generation died with the process that ran it (a crash, SIGKILL, a lost node):
 * the chunks logged before it stay, nothing more of this answer will come. The client may
 * continue or retry it as a new request.
 */
export const interruptedFrame = z.strictObject({
  type: z.literal('interrupted'),
  seq,
  requestId: id,
});
export const errorFrame = z.strictObject({
  type: z.literal('error'),
  /** Present when the error ends a request: it is data and is replayed like a chunk. */
  seq: z.optional(seq),
  requestId: z.optional(z.string()),
  code: errorCode,
  message: z.string(),
  retryable: z.boolean(),
  retryAfterMs: z.optional(z.number().nonnegative()),
});

export const serverFrame = z.discriminatedUnion('type', [
  welcomeFrame,
  pingFrame,
  statusFrame,
  acceptedFrame,
  chunkFrame,
  doneFrame,
  cancelledFrame,
  interruptedFrame,
  errorFrame,
]);

export type WelcomeFrame = z.infer<typeof welcomeFrame>;
export type StatusFrame = z.infer<typeof statusFrame>;
export type ChunkFrame = z.infer<typeof chunkFrame>;
export type ErrorFrame = z.infer<typeof errorFrame>;
export type ServerFrame = z.infer<typeof serverFrame>;
/** The frames that carry a `seq`: what the replay buffer keeps and the client acknowledges. */
export type DataFrame = Extract<
  ServerFrame,
  { type: 'accepted' | 'chunk' | 'done' | 'cancelled' | 'interrupted' | 'error' }
>;

// ---------------------------------------------------------------- parsing

/** The most a WebSocket close reason may hold; ws throws (and a listener crashes) on more. */
export const MAX_CLOSE_REASON_BYTES = 123;

const utf8 = new TextEncoder();

/**
 * Shortens `text` to fit a close reason. Messages quote what the peer sent, and a hostile peer
 * can make a short string long in bytes, so count bytes, and cut between code points.
 */
export function clampCloseReason(text: string): string {
  if (utf8.encode(text).length <= MAX_CLOSE_REASON_BYTES) return text;
  let out = '';
  let bytes = 0;
  for (const char of text) {
    bytes += utf8.encode(char).length;
    if (bytes > MAX_CLOSE_REASON_BYTES - 3) break;
    out += char;
  }
  return `${out}…`;
}

/** A frame the receiver will not act on, and the close code the sender is owed. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly closeCode: number,
    message: string,
  ) {
    // The message becomes the close reason, so it must always fit one.
    super(clampCloseReason(message));
  }
}

function describeIssues(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid frame';
  const where = issue.path.length > 0 ? `'${issue.path.join('.')}'` : 'frame';
  return `${where} ${issue.message}`.slice(0, 120);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ProtocolError(CloseCode.BadFrame, 'frame is not valid JSON');
  }
}

function asFrameRecord(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError(CloseCode.BadFrame, 'frame must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  if (typeof record.type !== 'string') {
    throw new ProtocolError(CloseCode.BadFrame, "frame requires a string 'type'");
  }
  return record;
}

const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * The chunk frame is nearly all of a stream's traffic, so it is checked by hand, to exactly the
 * rules of `chunkFrame` (the zod schema stays the definition; a test holds the two together).
 */
function isChunkFrame(record: Record<string, unknown>): record is ChunkFrame {
  let keys = 0;
  for (const _ in record) keys++;
  return (
    keys === 4 &&
    record.type === 'chunk' &&
    typeof record.seq === 'number' &&
    Number.isInteger(record.seq) &&
    record.seq >= 0 &&
    typeof record.requestId === 'string' &&
    ID_PATTERN.test(record.requestId) &&
    typeof record.data === 'string'
  );
}

const clientTypes = new Set(clientFrame.options.map((option) => option.shape.type.value));
const serverTypes = new Set(serverFrame.options.map((option) => option.shape.type.value));

/** Parses and validates one text frame from a client. Throws `ProtocolError`. */
export function parseClientFrame(text: string): ClientFrame {
  const record = asFrameRecord(parseJson(text));
  if (!clientTypes.has(record.type as ClientFrame['type'])) {
    throw new ProtocolError(
      CloseCode.BadFrame,
      `unknown frame type '${String(record.type).slice(0, 40)}'`,
    );
  }
  if (record.type === 'hello' && record.protocol !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      CloseCode.UnsupportedProtocol,
      `unsupported protocol version; this server speaks ${PROTOCOL_VERSION}`,
    );
  }
  const result = clientFrame.safeParse(record);
  if (!result.success) throw new ProtocolError(CloseCode.BadFrame, describeIssues(result.error));
  return result.data;
}

/** Validates one parsed frame from the server. Throws `ProtocolError`. */
export function validateServerFrame(value: unknown): ServerFrame {
  const record = asFrameRecord(value);
  if (isChunkFrame(record)) return record;
  if (!serverTypes.has(record.type as ServerFrame['type'])) {
    throw new ProtocolError(
      CloseCode.BadFrame,
      `unknown frame type '${String(record.type).slice(0, 40)}'`,
    );
  }
  const result = serverFrame.safeParse(record);
  if (!result.success) throw new ProtocolError(CloseCode.BadFrame, describeIssues(result.error));
  return result.data;
}

/** Parses and validates one text frame from the server. Throws `ProtocolError`. */
export function parseServerFrame(text: string): ServerFrame {
  return validateServerFrame(parseJson(text));
}

/**
 * Parses one WebSocket message from the server: a single frame, or a batch (a JSON array of
 * frames, in order) that the server sends when it produced several frames in one tick.
 */
export function parseServerMessage(text: string): ServerFrame[] {
  const value = parseJson(text);
  if (!Array.isArray(value)) return [validateServerFrame(value)];
  if (value.length === 0) throw new ProtocolError(CloseCode.BadFrame, 'a batch must not be empty');
  return value.map(validateServerFrame);
}
