/**
 * The one clock the server's (or client's) actor system runs on. XState's delays use its
 * setTimeout; our adapters read `now` from it, so a test that swaps in SimulatedClock moves both.
 */
export interface Clock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
  now(): number;
}

export const systemClock: Clock = {
  setTimeout: (fn, timeout) => setTimeout(fn, timeout),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};
