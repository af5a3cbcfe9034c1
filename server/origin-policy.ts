/**
 * Which browser Origins may open a socket. Browsers attach `Origin` to every WebSocket handshake
 * and cookies ride along, so a page on another site could otherwise drive a user's session
 * (cross-site WebSocket hijacking). Non-browser clients send no Origin and are not affected.
 */
export function isOriginAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowList: string,
): boolean {
  if (!origin) return true;
  const allowed = allowList
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    // The server's own pages: same host and port as the request was made to.
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
