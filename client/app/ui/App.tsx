/**
 * The page: a header with the views (chat, dashboard, inspector) and the shown thread's
 * connection, then the current view. The threads keep running whichever view is shown.
 */
import { useSelector } from '@xstate/react';
import type { Page } from '../model/page.ts';
import { ConnectionStatus } from './ConnectionStatus.tsx';
import { Dashboard } from './dashboard/Dashboard.tsx';
import { Inspector } from './inspector/Inspector.tsx';
import { Nav } from './Nav.tsx';
import { useRoute } from './route.ts';
import { ThreadTabs } from './ThreadTabs.tsx';
import { ThreadView } from './ThreadView.tsx';

export function App({ page }: { page: Page }) {
  const route = useRoute();
  const activeId = useSelector(page.tabs, (snapshot) => snapshot.context.activeId);
  const entry = activeId ? page.thread(activeId) : undefined;
  return (
    <div className={route === 'chat' ? 'app' : 'app wide'}>
      <header className="top">
        <h1 className="brand">Threadline</h1>
        <Nav current={route} />
        {entry && route === 'chat' ? (
          <ConnectionStatus key={entry.threadId} entry={entry} page={page} />
        ) : null}
      </header>
      {route === 'chat' ? (
        <>
          <ThreadTabs page={page} />
          {entry ? <ThreadView key={entry.threadId} entry={entry} page={page} /> : null}
        </>
      ) : null}
      {route === 'dashboard' ? <Dashboard /> : null}
      {route === 'inspector' ? <Inspector /> : null}
    </div>
  );
}
