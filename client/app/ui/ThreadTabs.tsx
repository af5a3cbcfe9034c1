/** Up to five thread tabs: switch, close, and "New thread". */
import { shallowEqual, useSelector } from '@xstate/react';
import { connectionView, describeConnection, threadTitle } from '../model/describe.ts';
import type { Page, ThreadEntry } from '../model/page.ts';

export function ThreadTabs({ page }: { page: Page }) {
  const threadIds = useSelector(page.tabs, (snapshot) => snapshot.context.threadIds, shallowEqual);
  const activeId = useSelector(page.tabs, (snapshot) => snapshot.context.activeId);
  const full = useSelector(page.tabs, (snapshot) => snapshot.matches('full'));
  const max = useSelector(page.tabs, (snapshot) => snapshot.context.maxThreads);
  return (
    <nav className="tabs" aria-label="Threads">
      <ul>
        {threadIds.map((threadId, index) => {
          const entry = page.thread(threadId);
          return entry ? (
            <ThreadTab
              key={threadId}
              entry={entry}
              index={index}
              active={threadId === activeId}
              page={page}
            />
          ) : null;
        })}
      </ul>
      <button
        type="button"
        className="button new-thread"
        onClick={() => page.openThread()}
        disabled={full}
        title={full ? `At most ${max} threads: close one to open another` : undefined}
      >
        New thread
      </button>
    </nav>
  );
}

function ThreadTab({
  entry,
  index,
  active,
  page,
}: {
  entry: ThreadEntry;
  index: number;
  active: boolean;
  page: Page;
}) {
  const title = useSelector(entry.conversation, (snapshot) =>
    threadTitle(snapshot.context.turns, index),
  );
  const tone = useSelector(
    entry.client.actor,
    (snapshot) => describeConnection(connectionView(snapshot), 0).tone,
  );
  return (
    <li className={active ? 'tab active' : 'tab'}>
      <button
        type="button"
        className="tab-select"
        aria-current={active ? 'page' : undefined}
        onClick={() => page.selectThread(entry.threadId)}
      >
        <span className={`dot tone-${tone}`} aria-hidden="true" />
        <span className="tab-title">{title}</span>
      </button>
      <button
        type="button"
        className="tab-close"
        aria-label={`Close thread ${title}`}
        title="Close thread"
        onClick={() => void page.closeThread(entry.threadId)}
      >
        ×
      </button>
    </li>
  );
}
