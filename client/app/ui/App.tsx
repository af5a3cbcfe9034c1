/** The page: a header with the shown thread's connection, the thread tabs, the thread itself. */
import { useSelector } from '@xstate/react';
import type { Page } from '../model/page.ts';
import { ConnectionStatus } from './ConnectionStatus.tsx';
import { ThreadTabs } from './ThreadTabs.tsx';
import { ThreadView } from './ThreadView.tsx';

export function App({ page }: { page: Page }) {
  const activeId = useSelector(page.tabs, (snapshot) => snapshot.context.activeId);
  const entry = activeId ? page.thread(activeId) : undefined;
  return (
    <div className="app">
      <header className="top">
        <h1 className="brand">Threadline</h1>
        {entry ? <ConnectionStatus key={entry.threadId} entry={entry} page={page} /> : null}
      </header>
      <ThreadTabs page={page} />
      {entry ? <ThreadView key={entry.threadId} entry={entry} page={page} /> : null}
    </div>
  );
}
