/**
 * Runs every bench in sequence, each in its own `node --expose-gc --import tsx` process so one
 * bench's heap and JIT state cannot colour the next, each under a time limit. Prints each bench's
 * table as it finishes, then a summary of every row that has a target. Misses are findings, not
 * failures: the exit code is non-zero only when a bench crashed or ran out of time.
 *
 *   npm run bench                      # all of them
 *   npm run bench -- latency resume    # some of them
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type BenchResult, type ResultRow, renderTable } from './support/report.ts';

/** Each bench and the most it may take (the benches bound themselves well inside these). */
const benches: Array<{ name: string; limitMs: number }> = [
  { name: 'throughput', limitMs: 150_000 },
  { name: 'memory-stream', limitMs: 180_000 },
  { name: 'memory-idle', limitMs: 200_000 },
  { name: 'latency', limitMs: 150_000 },
  { name: 'resume', limitMs: 120_000 },
  { name: 'metrics-overhead', limitMs: 150_000 },
  { name: 'thermal-polling', limitMs: 60_000 },
  { name: 'breaker-check', limitMs: 60_000 },
  { name: 'load-streaming', limitMs: 180_000 },
  { name: 'load-churn', limitMs: 330_000 },
  { name: 'load-idle-sessions', limitMs: 400_000 },
];

const root = fileURLToPath(new URL('..', import.meta.url));

interface Finished {
  name: string;
  ms: number;
  code: number | null;
  results: BenchResult[];
}

function runBench(name: string, limitMs: number): Promise<Finished> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', fileURLToPath(new URL(`./${name}.ts`, import.meta.url))],
    { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const results: BenchResult[] = [];
  child.on('message', (message: BenchResult) => {
    if (message.type === 'bench-result') results.push(message);
  });
  const timer = setTimeout(() => {
    console.error(`${name}: over its ${limitMs / 1000} s limit; stopping it`);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  }, limitMs);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ name, ms: performance.now() - started, code: signal ? null : code, results });
    });
  });
}

async function main() {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !benches.some((bench) => bench.name === name));
  if (unknown.length > 0) {
    console.error(
      `unknown bench: ${unknown.join(', ')} (have ${benches.map((b) => b.name).join(', ')})`,
    );
    process.exit(1);
  }
  const chosen = wanted.length > 0 ? benches.filter((b) => wanted.includes(b.name)) : benches;
  const started = performance.now();
  const finished: Finished[] = [];
  for (const bench of chosen) {
    console.log(`\n=== ${bench.name} ===`);
    finished.push(await runBench(bench.name, bench.limitMs));
  }

  const targeted: ResultRow[] = [];
  for (const run of finished) {
    for (const result of run.results) {
      for (const row of result.rows) {
        if (row.target) targeted.push({ ...row, metric: `${run.name}: ${row.metric}` });
      }
    }
  }
  console.log('\n## summary — rows with a target\n');
  console.log(renderTable(targeted));
  console.log('');
  for (const run of finished) {
    const status = run.code === 0 ? 'ok' : `FAILED (exit ${run.code ?? 'by signal'})`;
    console.log(`- ${run.name}: ${(run.ms / 1000).toFixed(1)} s, ${status}`);
  }
  const misses = targeted.filter((row) => row.pass === false).length;
  console.log(
    `- total ${((performance.now() - started) / 1000).toFixed(1)} s; ${targeted.length - misses} of ${targeted.length} targets met`,
  );
  if (finished.some((run) => run.code !== 0)) process.exitCode = 1;
}

await main();
