/**
 * The page's three views by URL hash (`#/`, `#/dashboard`, `#/inspector`): the hash is the one
 * place the current view lives, read with `useSyncExternalStore`, so back/forward and links work
 * and nothing copies it.
 */
import { useSyncExternalStore } from 'react';

export type Route = 'chat' | 'dashboard' | 'inspector';

export const routes: ReadonlyArray<{ route: Route; href: string; label: string }> = [
  { route: 'chat', href: '#/', label: 'Chat' },
  { route: 'dashboard', href: '#/dashboard', label: 'Dashboard' },
  { route: 'inspector', href: '#/inspector', label: 'Inspector' },
];

export function routeOf(hash: string): Route {
  const path = hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? '';
  return path === 'dashboard' || path === 'inspector' ? path : 'chat';
}

function subscribe(onChange: () => void): () => void {
  globalThis.addEventListener('hashchange', onChange);
  return () => globalThis.removeEventListener('hashchange', onChange);
}

export function useRoute(): Route {
  return useSyncExternalStore(subscribe, () => routeOf(globalThis.location.hash));
}
