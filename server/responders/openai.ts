/**
 * The OpenAI-compatible responder: streams a chat completion from any server that speaks the
 * `/v1/chat/completions` protocol (Ollama, llama.cpp, vLLM, OpenAI) through the official SDK.
 * The request's AbortSignal aborts the HTTP request, so a cancel frees the upstream at once; the
 * responder then throws the signal's reason, as every responder must when stopped.
 */
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { type Responder, ResponderError, type Turn } from './responder.ts';

export interface OpenAIResponderOptions {
  baseURL: string;
  apiKey: string;
  model: string;
  /** Longest wait for the upstream's response headers; a local model may be loading. */
  timeoutMs?: number;
  /** Longest silence between two chunks of an answer before the upstream counts as stalled. */
  idleTimeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** The conversation as the upstream expects it: every earlier turn, then the new message. */
export function toMessages(history: readonly Turn[], text: string): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [];
  for (const turn of history) {
    messages.push({ role: 'user', content: turn.request });
    messages.push({ role: 'assistant', content: turn.answer });
  }
  messages.push({ role: 'user', content: text });
  return messages;
}

/** Whether an HTTP status means "try again later" rather than "this request is wrong". */
function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Translates what the SDK (or fetch underneath it) threw into the responder's vocabulary. */
export function toResponderError(error: unknown): ResponderError {
  if (error instanceof ResponderError) return error;
  if (error instanceof OpenAI.APIConnectionError) {
    return new ResponderError(`upstream unreachable: ${describe(error)}`, 'upstream_unavailable');
  }
  if (error instanceof OpenAI.APIError) {
    if (error.status === undefined) {
      // An error event inside an otherwise healthy stream: the upstream gave up on this answer.
      return new ResponderError(`upstream error: ${error.message}`, 'upstream_failed');
    }
    if (isTransientStatus(error.status)) {
      return new ResponderError(
        `upstream answered ${error.status}: ${error.message}`,
        'upstream_unavailable',
      );
    }
    return new ResponderError(
      `upstream refused the request (${error.status}): ${error.message}`,
      'upstream_failed',
      false,
    );
  }
  // fetch's own failures mid-body ("terminated" when the socket drops) are not wrapped by the SDK.
  return new ResponderError(`upstream stream broke: ${describe(error)}`, 'upstream_unavailable');
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}

export function createOpenAIResponder(options: OpenAIResponderOptions): Responder {
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const client = new OpenAI({
    baseURL: options.baseURL,
    // The SDK refuses an empty key; local servers ignore it anyway.
    apiKey: options.apiKey || 'not-needed',
    // Retries belong to the circuit breaker, which sees every request; the SDK's would hide failures.
    maxRetries: 0,
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });

  return async function* ({ text, history, signal }) {
    signal.throwIfAborted();
    // The SDK's timeout only covers the wait for headers; the idle timer catches a stream that stalls.
    const stall = new AbortController();
    const forwardAbort = () => stall.abort(signal.reason);
    signal.addEventListener('abort', forwardAbort, { once: true });
    let stalled = false;
    let idleTimer: NodeJS.Timeout | undefined;
    const arm = () => {
      idleTimer = setTimeout(() => {
        stalled = true;
        stall.abort(new Error('upstream stalled'));
      }, idleTimeoutMs);
    };
    try {
      const stream = await client.chat.completions.create(
        { model: options.model, stream: true, messages: toMessages(history, text) },
        { signal: stall.signal },
      );
      arm();
      for await (const chunk of stream) {
        const content = chunk.choices[0]?.delta?.content;
        if (!content) continue;
        // Time spent waiting on our own consumer (a full replay buffer) is not upstream silence.
        clearTimeout(idleTimer);
        yield content;
        arm();
      }
    } catch (error) {
      signal.throwIfAborted();
      if (!stalled) throw toResponderError(error);
    } finally {
      clearTimeout(idleTimer);
      signal.removeEventListener('abort', forwardAbort);
    }
    // The SDK ends its loop quietly on an abort, whichever side aborted; a stopped answer must
    // not pass for a complete one.
    signal.throwIfAborted();
    if (stalled) {
      throw new ResponderError(
        `upstream sent nothing for ${idleTimeoutMs} ms`,
        'upstream_unavailable',
      );
    }
  };
}
