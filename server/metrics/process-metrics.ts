/**
 * Process metrics under the usual `process_*` and `nodejs_*` names, registered on one registry.
 * prom-client's `collectDefaultMetrics` is not used: it exports gauges named `*_total` (which
 * `promtool check metrics` rejects) and starts an event-loop monitor and a GC observer per call
 * that can never be stopped, one more for every server a test process builds. These collectors
 * read everything at scrape time; the event-loop monitor is stopped by `dispose()`.
 */
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';

export function registerProcessMetrics(registry: Registry): { dispose(): void } {
  const registers = [registry];
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();

  const cpu = (read: (usage: NodeJS.CpuUsage) => number) =>
    function (this: Counter) {
      this.reset();
      this.inc(read(process.cpuUsage()) / 1e6);
    };
  new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'User CPU time spent, in seconds.',
    registers,
    collect: cpu((usage) => usage.user),
  });
  new Counter({
    name: 'process_cpu_system_seconds_total',
    help: 'System CPU time spent, in seconds.',
    registers,
    collect: cpu((usage) => usage.system),
  });
  new Counter({
    name: 'process_cpu_seconds_total',
    help: 'User and system CPU time spent, in seconds.',
    registers,
    collect: cpu((usage) => usage.user + usage.system),
  });

  const startTime = Math.round(Date.now() / 1000 - process.uptime());
  new Gauge({
    name: 'process_start_time_seconds',
    help: 'Start time of the process since the Unix epoch, in seconds.',
    registers,
    collect() {
      this.set(startTime);
    },
  });
  new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size, in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: 'process_open_fds',
    help: 'Open file descriptors (Linux only; absent elsewhere).',
    registers,
    collect() {
      this.reset();
      try {
        this.set(readdirSync('/proc/self/fd').length);
      } catch {
        // No /proc: leave the gauge without a sample.
      }
    },
  });

  const heap = (name: string, help: string, read: (usage: NodeJS.MemoryUsage) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(process.memoryUsage()));
      },
    });
  heap('nodejs_heap_size_total_bytes', 'V8 heap size, in bytes.', (usage) => usage.heapTotal);
  heap('nodejs_heap_size_used_bytes', 'V8 heap in use, in bytes.', (usage) => usage.heapUsed);
  heap(
    'nodejs_external_memory_bytes',
    'Memory of C++ objects bound to JavaScript, in bytes.',
    (usage) => usage.external,
  );

  const lag = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        // Before the first sample the histogram reports NaN or its initial extremes.
        const value = read();
        this.set(Number.isFinite(value) && loop.count > 0 ? value / 1e9 : 0);
      },
    });
  lag(
    'nodejs_eventloop_lag_mean_seconds',
    'Mean event loop delay since start, in seconds.',
    () => loop.mean,
  );
  lag('nodejs_eventloop_lag_p50_seconds', 'Median event loop delay since start, in seconds.', () =>
    loop.percentile(50),
  );
  lag(
    'nodejs_eventloop_lag_p99_seconds',
    '99th percentile event loop delay since start, in seconds.',
    () => loop.percentile(99),
  );
  lag(
    'nodejs_eventloop_lag_max_seconds',
    'Longest event loop delay since start, in seconds.',
    () => loop.max,
  );

  new Gauge({
    name: 'nodejs_active_resources',
    help: 'Resources keeping the event loop alive, by type.',
    labelNames: ['type'],
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const type of process.getActiveResourcesInfo()) {
        counts.set(type, (counts.get(type) ?? 0) + 1);
      }
      for (const [type, count] of counts) this.set({ type }, count);
    },
  });
  new Gauge({
    name: 'nodejs_version_info',
    help: 'Node.js version, as labels (always 1).',
    labelNames: ['version'],
    registers,
    collect() {
      this.set({ version: process.version }, 1);
    },
  });

  return { dispose: () => loop.disable() };
}
