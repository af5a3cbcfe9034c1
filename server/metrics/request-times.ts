/**
 * When something about a request happened (its frame arrived, its cancel arrived), kept per
 * session until the matching later event measures the time since. Keyed by the session object in
 * a WeakMap, so whatever is never taken goes away with its session.
 */
export class RequestTimes {
  private readonly byOwner = new WeakMap<object, Map<string, number>>();

  /** Remembers now (or `at`) for `requestId` of `owner`. */
  mark(owner: object, requestId: string, at: number = performance.now()): void {
    let times = this.byOwner.get(owner);
    if (!times) {
      times = new Map();
      this.byOwner.set(owner, times);
    }
    times.set(requestId, at);
  }

  /** Milliseconds since the mark, forgetting it; undefined when there was none. */
  take(owner: object, requestId: string): number | undefined {
    const times = this.byOwner.get(owner);
    const at = times?.get(requestId);
    if (at === undefined) return undefined;
    times?.delete(requestId);
    return performance.now() - at;
  }

  drop(owner: object, requestId: string): void {
    this.byOwner.get(owner)?.delete(requestId);
  }
}
