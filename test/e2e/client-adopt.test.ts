/**
 * The client API a reloaded page uses (no browser needed): `adopt(requestId)` takes back an answer
 * that was streaming when the old page went away, `request(text, { requestId })` re-sends a
 * message that was still waiting. A "page going away" is the old client's actors stopping without
 * a goodbye, which drops its socket the way a navigation does.
 */
import { describe, expect, it } from 'vitest';
import { counterResponder } from '../../server/responders/counter.ts';
import type { Responder } from '../../server/responders/responder.ts';
import { openClient, startServer, waitFor } from '../support/harness.ts';

const expected = (count: number) => Array.from({ length: count }, (_, i) => `${i}\n`).join('');

/** The counter responder, counting how many times a request was started. */
function countingCounter() {
  const started: string[] = [];
  const responder: Responder = (request) => {
    started.push(request.text);
    return counterResponder(request);
  };
  return { responder, started };
}

describe('taking requests back after a page reload', () => {
  it('adopt() continues a streaming answer from the stored lastSeq, without doubling text', async () => {
    const { responder, started } = countingCounter();
    const server = await startServer({}, { responder });
    const before = openClient(server.url);
    const handle = before.request('40 10');
    // The old page shows every chunk as it comes (as the app does: in microtasks)…
    let shown = '';
    void (async () => {
      for await (const chunk of handle) shown += chunk;
    })();
    await waitFor(() => shown.split('\n').length > 10, { what: '10 chunks' });
    // …and stores, at one task boundary (pagehide), its text with the client's lastSeq.
    const stored = await new Promise<{
      text: string;
      resume: ReturnType<typeof before.resumeInfo>;
    }>((resolve) => setTimeout(() => resolve({ text: shown, resume: before.resumeInfo() }), 0));
    before.thread.stop();
    const resume = stored.resume;
    expect(resume?.lastSeq).toBe(1 + stored.text.split('\n').length - 1);

    const after = openClient(server.url, { resume: resume ?? undefined }, before.threadId);
    const adopted = after.adopt(handle.requestId);
    const result = await adopted.result;
    expect(result.status).toBe('done');
    expect(stored.text + result.text).toBe(expected(40));
    expect(started).toEqual(['40 10']);
    // The thread is free for the next message.
    expect((await after.request('2').result).text).toBe('0\n1\n');
  });

  it('request(text, { requestId }) runs a message the server already has only once', async () => {
    const { responder, started } = countingCounter();
    const server = await startServer({}, { responder });
    const before = openClient(server.url);
    await waitFor(() => before.status().connection === 'linked.open.ready');
    // The old page stored the message as waiting (no answer shown yet) with this lastSeq…
    const handle = before.request('5 20');
    const resume = before.resumeInfo();
    // …and went away after the server had started it.
    await waitFor(() => started.length === 1, { what: 'the request to start' });
    before.thread.stop();

    const after = openClient(server.url, { resume: resume ?? undefined }, before.threadId);
    const again = after.request('5 20', { requestId: handle.requestId });
    const result = await again.result;
    expect(result).toEqual({ status: 'done', text: expected(5) });
    expect(started).toEqual(['5 20']);
  });

  it('an adopted answer fails with session_lost when the session is gone, and the thread goes on', async () => {
    const { responder, started } = countingCounter();
    const server = await startServer({ sessionTtlMs: 0 }, { responder });
    const before = openClient(server.url);
    const handle = before.request('1000 10');
    for await (const _ of handle) break;
    const resume = before.resumeInfo();
    before.thread.stop();
    await waitFor(() => server.app.threadline.store.size === 0, { what: 'the session to expire' });

    const after = openClient(server.url, { resume: resume ?? undefined }, before.threadId);
    const adopted = after.adopt(handle.requestId);
    const waiting = after.request('3');
    const result = await adopted.result;
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('session_lost');
    expect(result.error?.message).toContain('expired');
    expect((await waiting.result).text).toBe(expected(3));
    // The lost answer was not asked again on the new session.
    expect(started).toEqual(['1000 10', '3']);
  });
});
