/**
 * Reading a Prometheus scrape in tests: fetch it, pick one sample's value, and run
 * `promtool check metrics` on it (the Debian package `prometheus` provides promtool).
 */
import { spawnSync } from 'node:child_process';

export async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  return response.text();
}

/** The value of the sample `name{labels}` (labels in any order), or undefined when absent. */
export function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = new Map<string, string>();
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      found.set(pair[1] ?? '', pair[2] ?? '');
    }
    if (found.size !== wanted.length) continue;
    if (wanted.every(([key, value]) => found.get(key) === value)) return Number(match[3]);
  }
  return undefined;
}

/** Like `sample`, but a missing sample fails the test with the metric's name. */
export function value(text: string, name: string, labels: Record<string, string> = {}): number {
  const found = sample(text, name, labels);
  if (found === undefined) {
    throw new Error(`no sample ${name}${JSON.stringify(labels)} in the scrape`);
  }
  return found;
}

export interface PromtoolResult {
  status: number | null;
  output: string;
}

/** Runs `promtool check metrics` on a scrape; throws how to install promtool when it is missing. */
export function promtoolCheck(text: string, command = 'promtool'): PromtoolResult {
  const run = spawnSync(command, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      'promtool is not installed, so the scrape cannot be checked: install it with ' +
        '`apt-get install -y prometheus` (the Debian package prometheus provides promtool).',
    );
  }
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}
