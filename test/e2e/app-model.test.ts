/**
 * The browser app's model without a browser: the conversation and tabs charts, the wording of
 * the page, and the page system resuming its threads across a "reload" (a second page built from
 * the first one's storage) against a real server.
 */

import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createActor, SimulatedClock } from 'xstate';
import { conversationMachine } from '../../client/app/model/conversation-machine.ts';
import {
  type ConnectionView,
  describeConnection,
  describeLoss,
  describeServer,
  turnBadge,
} from '../../client/app/model/describe.ts';
import { createPage, type Page } from '../../client/app/model/page.ts';
import type { KeyValueStorage } from '../../client/app/model/storage.ts';
import { tabsMachine } from '../../client/app/model/tabs-machine.ts';
import type { WebSocketConstructor } from '../../client/index.ts';
import { createLocalResponder } from '../../server/responders/local.ts';
import type { Responder } from '../../server/responders/responder.ts';
import { dispose, startServer, waitFor } from '../support/harness.ts';
import { localAnswer } from './expected.ts';

describe('conversation chart', () => {
  it('follows a turn from sent to stopped, and ignores what arrives after its end', () => {
    const actor = createActor(conversationMachine, { input: { threadId: 't', draft: 'hi' } });
    actor.start();
    actor.send({ type: 'turn.sent', requestId: 'r1', text: 'hi' });
    expect(actor.getSnapshot().context.draft).toBe('');
    expect(actor.getSnapshot().context.turns[0]?.status).toBe('waiting');
    actor.send({ type: 'turn.chunk', requestId: 'r1', data: 'Hello ' });
    expect(actor.getSnapshot().context.turns[0]?.status).toBe('streaming');
    actor.send({ type: 'turn.stopping', requestId: 'r1' });
    actor.send({ type: 'turn.chunk', requestId: 'r1', data: 'there' });
    actor.send({ type: 'turn.ended', requestId: 'r1', status: 'cancelled' });
    actor.send({ type: 'turn.chunk', requestId: 'r1', data: ' late' });
    expect(actor.getSnapshot().context.turns).toEqual([
      { requestId: 'r1', text: 'hi', answer: 'Hello there', status: 'stopped' },
    ]);
    actor.stop();
  });

  it('shows "resumed" for a while, and "lost" until dismissed or the next message', () => {
    const clock = new SimulatedClock();
    const actor = createActor(conversationMachine, { input: { threadId: 't' }, clock });
    actor.start();
    actor.send({ type: 'session.resumed' });
    expect(actor.getSnapshot().value).toBe('resumed');
    clock.increment(4000);
    expect(actor.getSnapshot().value).toBe('quiet');
    actor.send({ type: 'session.lost', reason: 'expired' });
    expect(actor.getSnapshot().context.lostReason).toBe('expired');
    actor.send({ type: 'turn.sent', requestId: 'r2', text: 'again' });
    expect(actor.getSnapshot().value).toBe('quiet');
    expect(actor.getSnapshot().context.turns).toHaveLength(1);
    actor.stop();
  });
});

describe('tabs chart', () => {
  it('holds at most five threads, and shows a neighbour when the shown one closes', () => {
    const actor = createActor(tabsMachine, { input: {} });
    actor.start();
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) actor.send({ type: 'tab.open', threadId: id });
    expect(actor.getSnapshot().context.threadIds).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(actor.getSnapshot().value).toBe('full');
    actor.send({ type: 'tab.select', threadId: 'c' });
    actor.send({ type: 'tab.close', threadId: 'c' });
    expect(actor.getSnapshot().context).toMatchObject({
      threadIds: ['a', 'b', 'd', 'e'],
      activeId: 'd',
    });
    expect(actor.getSnapshot().value).toBe('roomy');
    actor.send({ type: 'tab.select', threadId: 'zzz' });
    expect(actor.getSnapshot().context.activeId).toBe('d');
    actor.stop();
  });
});

describe('what the page says', () => {
  const view: ConnectionView = {
    phase: 'reconnecting',
    attempt: 3,
    maxAttempts: 10,
    nextRetryAt: 10_000,
    lastCloseCode: 1006,
    lastCloseReason: '',
    connections: 1,
  };

  it('counts down to the next attempt, and names why it gave up', () => {
    expect(describeConnection(view, 6_500)).toMatchObject({
      label: 'Reconnecting (attempt 3/10)',
      countdown: ' in 4 s…',
      action: 'Retry now',
    });
    expect(describeConnection({ ...view, phase: 'failed' }, 0)).toMatchObject({
      label: 'Connection lost',
      detail: 'Gave up after 10 attempts.',
      action: 'Retry',
    });
    expect(
      describeConnection({ ...view, phase: 'failed', lastCloseCode: 4409 }, 0).detail,
    ).toContain('another tab');
    expect(describeConnection({ ...view, phase: 'ready' }, 0).label).toBe('Connected');
  });

  it('tells the server conditions, and what a failed resume lost', () => {
    const server = {
      thermal: { state: 'throttled' as const, celsius: 86 },
      breaker: { state: 'open' as const, retryAfterMs: 30_000 },
      draining: false,
      receivedAt: 1_000,
    };
    expect(
      describeServer(server, 11_000).map((line) => line.label + (line.countdown ?? '')),
    ).toEqual(['Server is cooling down', 'Upstream unavailable, retrying in 20 s…']);
    const turns = [
      { requestId: 'a', text: 'first', answer: 'x', status: 'done' as const },
      {
        requestId: 'b',
        text: 'second',
        answer: 'y',
        status: 'failed' as const,
        error: { code: 'session_lost', message: 'lost' },
      },
    ];
    const text = describeLoss('expired', turns);
    expect(text).toContain('5 minutes');
    expect(text).toContain('Lost: the rest of the answer to “second”.');
    expect(text).toContain('no longer remembers the earlier messages');
    expect(turnBadge({ ...turns[0], status: 'waiting' } as never, false, false)?.text).toBe(
      'Pending: sends when reconnected',
    );
  });
});

describe('the page across a reload', () => {
  function memoryStorage(): KeyValueStorage {
    const values = new Map<string, string>();
    return {
      getItem: (key) => values.get(key) ?? null,
      setItem: (key, value) => void values.set(key, value),
      removeItem: (key) => void values.delete(key),
    };
  }

  function pageOn(url: string, storage: KeyValueStorage): Page {
    const page = createPage({
      url,
      storage,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      onError: (error) => {
        throw error;
      },
    });
    dispose(() => page.detach());
    return page;
  }

  it('resumes a streaming answer and re-sends a waiting message, each exactly once', async () => {
    const local = createLocalResponder(20);
    const asked: string[] = [];
    const responder: Responder = (request) => {
      asked.push(request.text);
      return local(request);
    };
    const server = await startServer({}, { responder });
    const storage = memoryStorage();
    const before = pageOn(server.url, storage);
    const threadId = before.tabs.getSnapshot().context.activeId ?? '';
    const entry = before.thread(threadId);
    if (!entry) throw new Error('no thread');
    before.send(threadId, 'Streaming across a reload');
    const turns = () => entry.conversation.getSnapshot().context.turns;
    await waitFor(() => turns()[0]?.answer.split(' ').length === 6, { what: 'six words' });
    // Streaming blocks Send in the page; the page system itself queues a second one behind it.
    before.send(threadId, 'Waiting across a reload');
    expect(turns()[1]?.status).toBe('waiting');
    before.detach();

    const after = pageOn(server.url, storage);
    const restored = after.thread(threadId);
    if (!restored) throw new Error('the thread was not restored');
    expect(after.tabs.getSnapshot().context.threadIds).toEqual([threadId]);
    const expected = await localAnswer('Streaming across a reload');
    const restoredTurns = () => restored.conversation.getSnapshot().context.turns;
    await waitFor(() => restoredTurns()[1]?.status === 'done', { what: 'both answers' });
    expect(restoredTurns()[0]?.answer).toBe(expected);
    expect(restoredTurns()[1]?.answer).toBe(
      await localAnswer('Waiting across a reload', [
        { request: 'Streaming across a reload', answer: expected },
      ]),
    );
    expect(asked).toEqual(['Streaming across a reload', 'Waiting across a reload']);
    expect(restored.conversation.getSnapshot().value).not.toBe('lost');
  });
});
