/**
 * What observability reads from the gateway at scrape time (the gateway satisfies it): counts
 * that are cheaper to take when asked than to keep up to date on every frame.
 */
export interface SessionView {
  /** Null while no socket is attached (the session is detached, kept for its TTL). */
  readonly transport: unknown;
  readonly bufferedFrames: number;
  readonly bufferedBytes: number;
}

export interface GatewayView {
  readonly connectionCount: number;
  readonly store: { readonly size: number; values(): Iterable<SessionView> };
}

export interface SessionStats {
  active: number;
  detached: number;
  bufferedFrames: number;
  bufferedBytes: number;
}

/** One pass over the sessions: how many are detached and what their replay buffers hold. */
export function sessionStats(gateway: GatewayView): SessionStats {
  const stats: SessionStats = {
    active: gateway.store.size,
    detached: 0,
    bufferedFrames: 0,
    bufferedBytes: 0,
  };
  for (const session of gateway.store.values()) {
    if (session.transport === null) stats.detached++;
    stats.bufferedFrames += session.bufferedFrames;
    stats.bufferedBytes += session.bufferedBytes;
  }
  return stats;
}
