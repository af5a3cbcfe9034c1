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

/** Work handed to a slicer; `cancelled` work that is still queued does not run. */
export interface SlicedTask {
  run: () => void;
  cancelled: boolean;
}

export type Slicer = ReturnType<typeof createSlicer>;

/**
 * Runs work at once while the current turn of the event loop has spent less than `budgetMs` on
 * it, and queues the rest, in order, for the next turns (setImmediate), so sockets and timers are
 * served in between. Node runs every timer that falls due at once, and every socket event of one
 * poll, in a single turn: 10,000 sessions detached in the same instant expire in the same instant,
 * and at that scale each expiry or closed socket costs milliseconds (XState copies the root's
 * children and scans every scheduled event to stop one actor).
 */
export function createSlicer(budgetMs = 10) {
  let backlog: SlicedTask[] = [];
  let head = 0;
  /** When this turn's work began; -1 when no turn is open. */
  let sliceStart = -1;

  const drain = () => {
    sliceStart = performance.now();
    try {
      do {
        const task = backlog[head++] as SlicedTask;
        if (!task.cancelled) task.run();
      } while (head < backlog.length && performance.now() - sliceStart < budgetMs);
    } finally {
      if (head < backlog.length) setImmediate(drain);
      else {
        backlog = [];
        head = 0;
        sliceStart = -1;
      }
    }
  };
  /** The check phase of the turn a slice opened in: that turn's timers and socket events are over. */
  const closeSlice = () => {
    if (head < backlog.length) drain();
    else sliceStart = -1;
  };

  return {
    run(task: SlicedTask): void {
      if (sliceStart < 0) {
        sliceStart = performance.now();
        setImmediate(closeSlice);
      } else if (head < backlog.length || performance.now() - sliceStart >= budgetMs) {
        backlog.push(task);
        return;
      }
      task.run();
    },
  };
}

/** The system clock with its due timers run through `slicer`. A timer cleared while queued does not run. */
export function slicedClock(slicer: Slicer): Clock {
  return {
    setTimeout(fn, timeout) {
      const task = { run: fn as () => void, cancelled: false };
      return { task, handle: setTimeout(() => slicer.run(task), timeout) };
    },
    clearTimeout(id) {
      const timer = id as { task: SlicedTask; handle: ReturnType<typeof setTimeout> };
      timer.task.cancelled = true;
      clearTimeout(timer.handle);
    },
    now: () => Date.now(),
  };
}
