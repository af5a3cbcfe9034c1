/**
 * What metrics cost the data path: the same counter stream through two Threadline servers in
 * one run, one with metrics on and one with metrics off, in three kinds of run — off, on, and on
 * while a separate process scrapes `/metrics` and `/health/websocket` every SCRAPE_MS (as
 * Prometheus would, but more often: its default is every 15 s). Each kind takes each place in
 * the order equally often; medians count. Target: metrics on keeps ≥ 95 % of the throughput of
 * metrics off, and spends ≤ 5 % more server CPU per chunk (the steadier of the two on a busy
 * machine). The scraped runs are reported beside them, without a target.
 *
 * In the table, the “threadline” column is metrics on and the “raw ws” column metrics off.
 *
 *   node --import tsx bench/metrics-overhead.ts [chunks] [runs] [scrapeMs]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { countingWebSocket, openThreadClient, wireCounter } from './support/clients.ts';
import { deadline, environmentNote } from './support/deadline.ts';
import { report } from './support/report.ts';
import { type ServerChild, spawnServer } from './support/spawn-server.ts';
import { median } from './support/stats.ts';

const CHUNKS = Number(process.argv[2] ?? 200_000);
const RUNS = Number(process.argv[3] ?? 9);
const SCRAPE_MS = Number(process.argv[4] ?? 1000);
const TARGET_RATIO = 0.95;

interface Run {
  chunksPerSecond: number;
  /** Server CPU (user + system) per chunk, in µs. */
  serverCpuUs: number;
  scrapes: number;
}

async function stream(url: string): Promise<number> {
  const client = await openThreadClient(url, {}, countingWebSocket(wireCounter()));
  try {
    const handle = client.request(String(CHUNKS));
    let received = 0;
    for await (const _chunk of handle) received++;
    const result = await handle.result;
    if (result.status !== 'done') throw new Error(`stream ended ${result.status}`);
    return received;
  } finally {
    await client.close();
  }
}

/** The scraper's own process: what Prometheus would be, kept off the client's CPU. */
async function scrapeLoop(port: number, everyMs: number): Promise<void> {
  let scrapes = 0;
  let running = true;
  process.on('message', () => {
    running = false;
  });
  process.send?.({ ready: true });
  while (running) {
    const started = performance.now();
    const [metrics, health] = await Promise.all([
      fetch(`http://127.0.0.1:${port}/metrics`),
      fetch(`http://127.0.0.1:${port}/health/websocket`),
    ]);
    if (metrics.status !== 200 || health.status !== 200) {
      throw new Error(
        `scrape failed: /metrics ${metrics.status}, /health/websocket ${health.status}`,
      );
    }
    await Promise.all([metrics.text(), health.text()]);
    scrapes++;
    const wait = everyMs - (performance.now() - started);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  process.send?.({ scrapes }, () => process.exit(0));
}

/** Starts scraping every SCRAPE_MS from a child process; resolves once it is running. */
async function startScraper(port: number) {
  const child = fork(
    fileURLToPath(import.meta.url),
    ['--scrape', String(port), String(SCRAPE_MS)],
    {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  let scrapes = -1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.on('message', (message: { ready?: boolean; scrapes?: number }) => {
      if (message.ready) resolve();
      if (message.scrapes !== undefined) scrapes = message.scrapes;
    });
    child.once('exit', (code) => reject(new Error(`scraper exited (${code}) before starting`)));
  });
  return {
    async stop(): Promise<number> {
      child.send('stop');
      await exited;
      if (scrapes < 0) throw new Error('the scraper did not report');
      return scrapes;
    },
  };
}

async function measure(server: ServerChild, scrape: boolean): Promise<Run> {
  const scraping = scrape ? await startScraper(server.port) : null;
  const serverBefore = await server.cpu();
  const started = performance.now();
  const received = await stream(server.url);
  const elapsedMs = performance.now() - started;
  const scrapes = (await scraping?.stop()) ?? 0;
  const serverAfter = await server.cpu();
  if (received !== CHUNKS) throw new Error(`received ${received} of ${CHUNKS}`);
  const cpuUs =
    serverAfter.userUs - serverBefore.userUs + (serverAfter.systemUs - serverBefore.systemUs);
  return { chunksPerSecond: CHUNKS / (elapsedMs / 1000), serverCpuUs: cpuUs / CHUNKS, scrapes };
}

/** The value of an unlabelled sample in a scrape. */
function sampleOf(text: string, name: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

type Mode = 'off' | 'on' | 'scraped';
const MODES: readonly Mode[] = ['off', 'on', 'scraped'];

async function main() {
  const stop = deadline(600_000, 'metrics-overhead');
  const environment = environmentNote();
  // The client acks a fast stream more often than the per-client frame rate limit allows; the
  // disconnects and resumes that follow would drown what is measured here, so lift it (both).
  const unlimited = { rateLimitPerSecond: 1_000_000, rateLimitBurst: 1_000_000 };
  const on = await spawnServer('threadline', { ...unlimited, metrics: 'on' });
  const off = await spawnServer('threadline', { ...unlimited, metrics: 'off' });
  try {
    // Warm both (JIT, lazily loaded code) before anything is timed.
    await stream(on.url);
    await stream(off.url);
    const runs: Record<Mode, Run[]> = { off: [], on: [], scraped: [] };
    for (let i = 0; i < RUNS; i++) {
      // Each mode takes each place in the order equally often.
      for (let j = 0; j < MODES.length; j++) {
        const mode = MODES[(i + j) % MODES.length] as Mode;
        runs[mode].push(await measure(mode === 'off' ? off : on, mode === 'scraped'));
      }
    }
    // The counters saw every frame: a check that metrics were really on.
    const scrape = await (await fetch(`http://127.0.0.1:${on.port}/metrics`)).text();
    const framesSent = sampleOf(scrape, 'threadline_frames_sent_total');
    const replayed = sampleOf(scrape, 'threadline_frames_replayed_total');
    const resumed = sampleOf(scrape, 'threadline_sessions_resumed_total');
    const expectedFrames = (2 * RUNS + 1) * (CHUNKS + 2);
    if (!(framesSent >= expectedFrames)) {
      throw new Error(`metrics on counted ${framesSent} frames sent, expected ≥ ${expectedFrames}`);
    }
    const closes = scrape
      .split('\n')
      .filter((line) => line.startsWith('threadline_connections_closed_total{'))
      .map((line) => line.replace('threadline_connections_closed_total', 'closed'))
      .join(', ');
    if ((await fetch(`http://127.0.0.1:${off.port}/metrics`)).status !== 404) {
      throw new Error('metrics off still serves /metrics');
    }

    const med = (mode: Mode, key: keyof Run) => median(runs[mode].map((run) => run[key]));
    const rate = (mode: Mode) => med(mode, 'chunksPerSecond');
    const cpu = (mode: Mode) => med(mode, 'serverCpuUs');
    const list = (mode: Mode) =>
      runs[mode].map((run) => Math.round(run.chunksPerSecond).toLocaleString('en-US')).join(', ');
    report(
      'metrics overhead — one connection, metrics on vs off',
      [
        {
          metric: `chunks/s, metrics on (median of ${RUNS})`,
          threadline: rate('on'),
          raw: rate('off'),
          unit: '/s',
          target: `≥ ${TARGET_RATIO.toFixed(2)}× off`,
          pass: rate('on') / rate('off') >= TARGET_RATIO,
        },
        {
          // Steadier than chunks/s on a loaded machine: what the server spent per chunk.
          metric: 'server CPU per chunk, metrics on',
          threadline: cpu('on'),
          raw: cpu('off'),
          unit: 'µs',
          target: `≤ ${(1 / TARGET_RATIO).toFixed(2)}× off`,
          pass: cpu('on') / cpu('off') <= 1 / TARGET_RATIO,
        },
        {
          metric: `chunks/s, metrics on, scraped every ${SCRAPE_MS} ms`,
          threadline: rate('scraped'),
          raw: rate('off'),
          unit: '/s',
        },
        {
          metric: `server CPU per chunk, scraped every ${SCRAPE_MS} ms`,
          threadline: cpu('scraped'),
          raw: cpu('off'),
          unit: 'µs',
        },
        {
          metric: 'scrapes during a scraped run',
          threadline: med('scraped', 'scrapes'),
          raw: null,
          unit: '',
        },
      ],
      [
        'column “threadline” = metrics on, column “raw ws” = metrics off: the ratio is on ÷ off',
        `${CHUNKS.toLocaleString('en-US')} chunks per run; off: ${list('off')}; on: ${list('on')}; on and scraped: ${list('scraped')}`,
        `a scraped run has /metrics and /health/websocket fetched every ${SCRAPE_MS} ms by a separate process (Prometheus's default is every 15 s); over all its streams the metrics-on server counted ${framesSent.toLocaleString('en-US')} frames sent, ${replayed.toLocaleString('en-US')} of them replays after ${resumed} resumes (connections ${closes})`,
        'both servers in their own processes (test preset, counter responder, client frame rate limit lifted); the client is this process',
        environment,
      ],
    );
  } finally {
    await Promise.all([on.close(), off.close()]);
    stop();
  }
}

if (process.argv[2] === '--scrape')
  await scrapeLoop(Number(process.argv[3]), Number(process.argv[4]));
else await main();
