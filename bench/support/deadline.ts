/** Every bench is bounded in time, and says on what machine and under what load it ran. */
import os from 'node:os';

/** Past `ms` the process says so and exits non-zero; call the returned function to disarm. */
export function deadline(ms: number, what: string): () => void {
  const timer = setTimeout(() => {
    console.error(`${what}: still running after ${ms / 1000} s; giving up`);
    process.exit(2);
  }, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

/** The numbers depend on the machine and on what else runs on it: say both. */
export function environmentNote(): string {
  const cpus = os.cpus();
  const load = os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
  return `node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, load average ${load} at start`;
}
