/**
 * The page's client side, without React: one thread client (its own actor system, with the
 * connection chart inside) and one conversation actor per open thread, the tabs actor over them,
 * and the sessionStorage that carries all of it across a reload.
 *
 * A reload resumes each thread: the stored session is resumed, answers that were streaming are
 * taken back with `client.adopt()` (they continue from the stored `lastSeq`, so no text doubles),
 * and messages still waiting are handed to the client again under their own request ids (the
 * server runs a request id at most once, so none is answered twice).
 *
 * Consistency of what is stored: answer text reaches the conversation actor from the request
 * handles in microtasks, so at every task boundary (a timer, `pagehide`) the stored text and the
 * client's `lastSeq` describe the same frames.
 */
import { type ActorRefFrom, createActor } from 'xstate';
import type { BackoffPolicy } from '../../../machines/backoff-schedule.ts';
import {
  createThreadClient,
  type RequestHandle,
  type ThreadClient,
  type WebSocketConstructor,
} from '../../index.ts';
import { conversationMachine, isOpenTurn } from './conversation-machine.ts';
import {
  forgetThread,
  type KeyValueStorage,
  loadPage,
  loadThread,
  type StoredThread,
  savePage,
  saveThread,
} from './storage.ts';
import { tabsMachine } from './tabs-machine.ts';

export type ConversationActor = ActorRefFrom<typeof conversationMachine>;
export type TabsActor = ActorRefFrom<typeof tabsMachine>;

export interface ThreadEntry {
  readonly threadId: string;
  /** The thread client: `client.thread` is the root of its actor system, `client.actor` the connection. */
  readonly client: ThreadClient;
  readonly conversation: ConversationActor;
}

/** Every client-side actor of the page, by thread: what an inspector subscribes to. */
export interface PageActors {
  tabs: TabsActor;
  threads: Array<{
    threadId: string;
    thread: ThreadClient['thread'];
    connection: ThreadClient['actor'];
    conversation: ConversationActor;
  }>;
}

export interface PageOptions {
  /** The WebSocket endpoint, for example `ws://localhost:8080/ws`. */
  url: string;
  storage: KeyValueStorage;
  backoff?: Partial<BackoffPolicy>;
  now?: () => number;
  createId?: () => string;
  /** Told about failures that have no place on the page (a broken actor, say). */
  onError?: (error: unknown) => void;
  /** The WebSocket class (Node tests pass `ws`); the browser's by default. */
  WebSocket?: WebSocketConstructor;
}

export interface Page {
  readonly tabs: TabsActor;
  thread(threadId: string): ThreadEntry | undefined;
  actors(): PageActors;
  /** Opens a thread and shows it; returns its id, or null when the tabs are full. */
  openThread(): string | null;
  /** Says goodbye to the server (ending the session) and forgets the thread. */
  closeThread(threadId: string): Promise<void>;
  selectThread(threadId: string): void;
  send(threadId: string, text: string): void;
  /** Stops the answer streaming (or the message waiting) in this thread. */
  stop(threadId: string): void;
  retry(threadId: string): void;
  /** Writes everything to storage now: call it on `pagehide`. */
  persist(): void;
  /**
   * Writes everything down, then drops every socket without a goodbye, as a page going away
   * does: the sessions stay on the server, ready for the next page to resume.
   */
  detach(): void;
}

/** How long after a change the page writes it to storage (also written on `pagehide`). */
const SAVE_DELAY_MS = 250;

/**
 * Stop was pressed before the reload: say it again once the request is the one streaming (a
 * cancel before that would only drop it from the client's queue, not stop the server).
 */
function cancelOnceActive(client: ThreadClient, handle: RequestHandle) {
  const subscription = client.thread.subscribe((snapshot) => {
    if (snapshot.context.activeRequestId !== handle.requestId) return;
    subscription.unsubscribe();
    queueMicrotask(() => handle.cancel());
  });
  void handle.result.then(() => subscription.unsubscribe());
}

export function createPage(options: PageOptions): Page {
  const { storage, url } = options;
  const now = options.now ?? (() => Date.now());
  const createId = options.createId ?? (() => globalThis.crypto.randomUUID());
  const onError = options.onError ?? (() => {});
  const entries = new Map<string, ThreadEntry & { handles: Map<string, RequestHandle> }>();
  let saveTimer: ReturnType<typeof setTimeout> | null = null;

  function saveSoon() {
    saveTimer ??= setTimeout(persist, SAVE_DELAY_MS);
  }

  function persist() {
    if (saveTimer !== null) clearTimeout(saveTimer);
    saveTimer = null;
    const { threadIds, activeId } = tabs.getSnapshot().context;
    savePage(storage, { threadIds, activeId });
    for (const entry of entries.values()) {
      const { turns, draft } = entry.conversation.getSnapshot().context;
      saveThread(storage, {
        threadId: entry.threadId,
        resume: entry.client.resumeInfo(),
        draft,
        turns,
      });
    }
  }

  /** Feeds one request's answer into the conversation, then how it ended. */
  async function follow(
    entry: ThreadEntry & { handles: Map<string, RequestHandle> },
    handle: RequestHandle,
  ) {
    const { requestId } = handle;
    entry.handles.set(requestId, handle);
    try {
      for await (const data of handle)
        entry.conversation.send({ type: 'turn.chunk', requestId, data });
      const result = await handle.result;
      entry.conversation.send({
        type: 'turn.ended',
        requestId,
        status: result.status,
        ...(result.error
          ? { error: { code: result.error.code, message: result.error.message } }
          : {}),
      });
    } catch (error) {
      onError(error);
    } finally {
      entry.handles.delete(requestId);
    }
  }

  function startThread(threadId: string, stored: StoredThread | null) {
    const conversation = createActor(conversationMachine, {
      input: { threadId, turns: stored?.turns ?? [], draft: stored?.draft ?? '' },
    });
    conversation.subscribe({ next: saveSoon, error: onError });
    conversation.start();
    const client = createThreadClient({
      url,
      threadId,
      ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
      config: {
        ...(stored?.resume ? { resume: stored.resume } : {}),
        ...(options.backoff ? { backoff: options.backoff } : {}),
      },
      onServerStatus: (status) =>
        conversation.send({ type: 'server.status', status: { ...status, receivedAt: now() } }),
    });
    const entry = { threadId, client, conversation, handles: new Map<string, RequestHandle>() };
    entries.set(threadId, entry);

    // Take back what was unfinished when the page went away, oldest first.
    for (const turn of conversation.getSnapshot().context.turns) {
      if (turn.status === 'waiting') {
        void follow(entry, client.request(turn.text, { requestId: turn.requestId }));
      } else if (isOpenTurn(turn) && stored?.resume) {
        const handle = client.adopt(turn.requestId);
        void follow(entry, handle);
        if (turn.status === 'stopping') cancelOnceActive(client, handle);
      } else if (isOpenTurn(turn)) {
        conversation.send({
          type: 'turn.ended',
          requestId: turn.requestId,
          status: 'failed',
          error: { code: 'session_lost', message: 'there was no session to resume' },
        });
      }
    }

    // Each completed handshake says whether the session survived the gap before it.
    let handshakes = client.actor.getSnapshot().context.connections;
    let hadSession = stored?.resume != null;
    client.actor.subscribe({
      next: (snapshot) => {
        const { connections, resumed, lostReason } = snapshot.context;
        if (connections === handshakes) return;
        handshakes = connections;
        if (resumed) conversation.send({ type: 'session.resumed' });
        else if (hadSession)
          conversation.send({ type: 'session.lost', reason: lostReason ?? 'unknown' });
        hadSession = true;
        saveSoon();
      },
      error: onError,
    });
    return entry;
  }

  const saved = loadPage(storage);
  const restoredIds = (saved?.threadIds ?? []).slice(0, 5);
  for (const threadId of restoredIds) startThread(threadId, loadThread(storage, threadId));

  const tabs = createActor(tabsMachine, {
    input: { threadIds: restoredIds, activeId: saved?.activeId ?? null },
  });
  tabs.subscribe({ next: saveSoon, error: onError });
  tabs.start();

  function openThread(): string | null {
    if (tabs.getSnapshot().matches('full')) return null;
    const threadId = createId();
    startThread(threadId, null);
    tabs.send({ type: 'tab.open', threadId });
    return threadId;
  }

  if (restoredIds.length === 0) openThread();

  return {
    tabs,
    thread: (threadId) => entries.get(threadId),
    actors: () => ({
      tabs,
      threads: [...entries.values()].map((entry) => ({
        threadId: entry.threadId,
        thread: entry.client.thread,
        connection: entry.client.actor,
        conversation: entry.conversation,
      })),
    }),
    openThread,
    async closeThread(threadId) {
      const entry = entries.get(threadId);
      if (!entry) return;
      tabs.send({ type: 'tab.close', threadId });
      entries.delete(threadId);
      forgetThread(storage, threadId);
      if (tabs.getSnapshot().context.threadIds.length === 0) openThread();
      persist();
      await entry.client.close();
      entry.conversation.stop();
    },
    selectThread(threadId) {
      tabs.send({ type: 'tab.select', threadId });
    },
    send(threadId, text) {
      const entry = entries.get(threadId);
      if (!entry || text.trim() === '') return;
      let handle: RequestHandle;
      try {
        handle = entry.client.request(text);
      } catch (error) {
        const requestId = createId();
        entry.conversation.send({ type: 'turn.sent', requestId, text });
        entry.conversation.send({
          type: 'turn.ended',
          requestId,
          status: 'failed',
          error: {
            code: 'not_sent',
            message: error instanceof Error ? error.message : String(error),
          },
        });
        return;
      }
      entry.conversation.send({ type: 'turn.sent', requestId: handle.requestId, text });
      void follow(entry, handle);
    },
    stop(threadId) {
      const entry = entries.get(threadId);
      if (!entry) return;
      // The request the thread chart is streaming now; messages waiting behind it stay.
      const requestId = entry.client.thread.getSnapshot().context.activeRequestId;
      const handle = requestId ? entry.handles.get(requestId) : undefined;
      if (!requestId || !handle) return;
      entry.conversation.send({ type: 'turn.stopping', requestId });
      handle.cancel();
    },
    retry(threadId) {
      entries.get(threadId)?.client.retry();
    },
    persist,
    detach() {
      persist();
      for (const entry of entries.values()) {
        entry.client.thread.stop();
        entry.conversation.stop();
      }
      tabs.stop();
      if (saveTimer !== null) clearTimeout(saveTimer);
      saveTimer = null;
    },
  };
}
