/** The page's views, as links: Tab reaches them, Enter follows them, the current one is marked. */
import { type Route, routes } from './route.ts';

export function Nav({ current }: { current: Route }) {
  return (
    <nav className="views" aria-label="Views">
      <ul>
        {routes.map(({ route, href, label }) => (
          <li key={route}>
            <a href={href} aria-current={route === current ? 'page' : undefined}>
              {label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
