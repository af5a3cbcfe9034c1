/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`, or `BENCH_CPU_PROF=<dir>` for the bench
 * servers): the functions with the most self time, and the time spent inside each package or
 * project folder (inclusive: a sample counts once for every distinct place on its stack).
 *
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** `node_modules/<pkg>` (scoped too), a project folder (`server`, `client`…), or `(node)`. */
export function placeOf(url: string): string {
  if (url === '') return '(native/gc/idle)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1] as string;
  if (url.startsWith('node:')) return '(node core)';
  const project = /\/(machines|server|client|bench|test)\//.exec(url);
  return project ? `project ${project[1]}/` : url;
}

export function summarise(profile: Profile, top = 25): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const inside = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const dt = profile.timeDeltas[index] ?? 0;
    total += dt;
    const node = byId.get(id);
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${placeOf(url)}${url ? `:${lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame || frame.functionName === '(root)') continue;
      seen.add(placeOf(frame.url));
    }
    for (const place of seen) inside.set(place, (inside.get(place) ?? 0) + dt);
  });
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  const rows = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, us]) => `${ms(us)} ${pct(us)}  ${key}`)
      .join('\n');
  return [
    `total ${(total / 1000).toFixed(0)} ms`,
    '\nself time by function:',
    rows(self),
    '\ninclusive time by package / project folder:',
    rows(inside),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: profile-summary.ts <file.cpuprofile> [top]');
    process.exit(1);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  console.log(summarise(profile, Number(process.argv[3] ?? 25)));
}
