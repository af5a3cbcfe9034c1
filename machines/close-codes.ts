/**
 * WebSocket close codes used by Threadline. Application codes are 4000 + an HTTP-like status,
 * the convention graphql-ws made familiar. The table in docs/protocol.md mirrors this file.
 */
export const CloseCode = {
  /** The client said goodbye (`bye`) or closed the thread. */
  Normal: 1000,
  /** The server is draining for a restart; reconnect and resume elsewhere or later. */
  GoingAway: 1001,
  /** No close frame arrived: the link dropped. Reported by the WebSocket API, never sent. */
  Abnormal: 1006,
  /** ws refused a frame above its hard payload cap. */
  MessageTooBig: 1009,
  /** The server hit an unexpected error handling this connection. */
  InternalError: 1011,
  /** The peer could not keep up (slow consumer); try again later. */
  TryAgainLater: 1013,
  /** A frame was not JSON, not a known type, or had missing or mistyped fields. */
  BadFrame: 4400,
  /** The resume token did not match, or the Origin is not allowed. */
  Forbidden: 4403,
  /** No handshake in time, or the peer went silent past the heartbeat limit. */
  Timeout: 4408,
  /** A newer connection resumed this session; this one is superseded. */
  Superseded: 4409,
  /** A text frame exceeded the configured frame limit. */
  FrameTooLarge: 4413,
  /** The handshake named a protocol version this server does not speak. */
  UnsupportedProtocol: 4426,
  /** Too many frames too fast. */
  RateLimited: 4429,
  /** The server cannot serve right now (for example, refusing new sockets while draining). */
  Unavailable: 4503,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * Codes after which reconnecting cannot help: the peer is told to stop, or it sent something
 * wrong that it would only send again.
 */
const fatalCloseCodes: ReadonlySet<number> = new Set([
  CloseCode.Normal,
  CloseCode.MessageTooBig,
  CloseCode.BadFrame,
  CloseCode.Forbidden,
  CloseCode.Superseded,
  CloseCode.FrameTooLarge,
  CloseCode.UnsupportedProtocol,
]);

/** Whether a client should reconnect after a close with this code. Unknown codes are retryable. */
export function isRetryableClose(code: number): boolean {
  return !fatalCloseCodes.has(code);
}
