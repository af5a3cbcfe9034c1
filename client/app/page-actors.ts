/**
 * The one place the page's client-side actors can be reached from outside React: the tabs chart,
 * and per thread its thread client's root actor, connection actor and conversation actor. The
 * inspector view taps their systems while it is open (see model/inspector/page-feed.ts); nothing
 * here starts or owns them.
 */
import type { Page, PageActors } from './model/page.ts';

let current: Page | null = null;

/** Called once by main.tsx with the page it created. */
export function registerPage(page: Page): void {
  current = page;
}

/** Every client-side actor of the page now (threads come and go: ask again after a change). */
export function pageActors(): PageActors | null {
  return current?.actors() ?? null;
}
