/** Counts what a graceful drain did, for the summary logged when it ends. */
export interface DrainSummary {
  durationMs: number;
  streamsAtStart: number;
  streamsFinished: number;
  streamsCancelled: number;
  connectionsClosed: number;
  /** Frames sent but not acknowledged when the sockets closed: gone with the in-memory store. */
  framesUnacknowledged: number;
}

export function createDrainTracker() {
  let startedAt: number | null = null;
  const counts = {
    streamsAtStart: 0,
    streamsFinished: 0,
    streamsCancelled: 0,
    connectionsClosed: 0,
    framesUnacknowledged: 0,
  };
  return {
    get active() {
      return startedAt !== null;
    },
    begin(streams: number) {
      startedAt = performance.now();
      counts.streamsAtStart = streams;
    },
    finished() {
      counts.streamsFinished++;
    },
    cancelled() {
      counts.streamsCancelled++;
    },
    closing(unacknowledgedFrames: number) {
      counts.connectionsClosed++;
      counts.framesUnacknowledged += unacknowledgedFrames;
    },
    summary(): DrainSummary {
      return {
        durationMs: startedAt === null ? 0 : Math.round(performance.now() - startedAt),
        ...counts,
      };
    },
  };
}
