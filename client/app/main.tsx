/** The browser app's entry: builds the page's actors from sessionStorage, then renders them. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { readBootConfig } from './boot-config.ts';
import { createPage } from './model/page.ts';
import { registerPage } from './page-actors.ts';
import { App } from './ui/App.tsx';
import './styles.css';

const boot = readBootConfig();
const page = createPage({
  url: boot.url,
  storage: globalThis.sessionStorage,
  ...(boot.backoff ? { backoff: boot.backoff } : {}),
  onError: (error) => console.error('threadline:', error),
});
registerPage(page);

// A reload or a closed tab: write everything down first, so the next page resumes it.
globalThis.addEventListener('pagehide', () => page.persist());
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') page.persist();
});

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App page={page} />
    </StrictMode>,
  );
}
