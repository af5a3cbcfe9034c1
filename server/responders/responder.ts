/** What produces an answer: given the request and the thread's history, streams text chunks. */
export interface Turn {
  request: string;
  answer: string;
}

export interface ResponderRequest {
  text: string;
  /** Earlier turns of this thread, oldest first. */
  history: readonly Turn[];
  /** Fires when the request is cancelled or the session ends; the responder must stop. */
  signal: AbortSignal;
}

/**
 * Streams the answer's text. A responder stopped by the signal must throw (for example with
 * `signal.throwIfAborted()`): returning normally means the answer is complete.
 */
export type Responder = (request: ResponderRequest) => AsyncIterable<string>;

/** A responder's failure that the client may retry, such as an upstream being unreachable. */
export class ResponderError extends Error {
  override readonly name = 'ResponderError';
  constructor(
    message: string,
    readonly code: 'upstream_failed' | 'upstream_unavailable' | 'internal' = 'upstream_failed',
    readonly retryable = true,
  ) {
    super(message);
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
