/**
 * What the page keeps in sessionStorage so a reload loses nothing: the open threads, and for each
 * the session to resume, the draft and the turns. Read back defensively: a value that does not
 * parse is dropped, never trusted.
 */
import { z } from 'zod';

const PAGE_KEY = 'threadline:page';
const THREAD_KEY_PREFIX = 'threadline:thread:';

/** The subset of the Web Storage API used here (sessionStorage, or a Map in tests). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const turnSchema = z.object({
  requestId: z.string().min(1),
  text: z.string(),
  answer: z.string(),
  status: z.enum(['waiting', 'streaming', 'stopping', 'done', 'stopped', 'failed']),
  error: z.optional(z.object({ code: z.string(), message: z.string() })),
});

const storedThreadSchema = z.object({
  threadId: z.string().min(1),
  resume: z.nullable(
    z.object({ sessionId: z.string(), token: z.string(), lastSeq: z.number().int().min(0) }),
  ),
  draft: z.string(),
  turns: z.array(turnSchema),
});

const storedPageSchema = z.object({
  threadIds: z.array(z.string().min(1)),
  activeId: z.nullable(z.string()),
});

export type StoredThread = z.infer<typeof storedThreadSchema>;
export type StoredPage = z.infer<typeof storedPageSchema>;

function read<T>(storage: KeyValueStorage, key: string, schema: z.ZodType<T>): T | null {
  try {
    const text = storage.getItem(key);
    if (text === null) return null;
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Writes, or reports why it could not (a full or disabled storage): never throws. */
function write(storage: KeyValueStorage, key: string, value: unknown): boolean {
  try {
    storage.setItem(key, JSON.stringify(value));
    return true;
  } catch {
    return false;
  }
}

export function loadPage(storage: KeyValueStorage): StoredPage | null {
  return read(storage, PAGE_KEY, storedPageSchema);
}

export function savePage(storage: KeyValueStorage, page: StoredPage): boolean {
  return write(storage, PAGE_KEY, page);
}

export function loadThread(storage: KeyValueStorage, threadId: string): StoredThread | null {
  const thread = read(storage, THREAD_KEY_PREFIX + threadId, storedThreadSchema);
  return thread && thread.threadId === threadId ? thread : null;
}

export function saveThread(storage: KeyValueStorage, thread: StoredThread): boolean {
  return write(storage, THREAD_KEY_PREFIX + thread.threadId, thread);
}

export function forgetThread(storage: KeyValueStorage, threadId: string): void {
  try {
    storage.removeItem(THREAD_KEY_PREFIX + threadId);
  } catch {
    // Nothing to do: a storage we cannot write to holds nothing of ours either.
  }
}
