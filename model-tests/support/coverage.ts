/**
 * Path coverage of one chart against the real system, and the shared report every model test
 * file adds its chart to (`model-tests/coverage.json`). Files run in parallel forks, so the
 * read-merge-write of the report happens under a lock directory.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { AnyStateMachine } from 'xstate';
import { type ChartTransition, stateNodesOf, transitionsOf } from './chart-graph.ts';

export interface CoverageEntry {
  states: { covered: number; total: number };
  transitions: { covered: number; total: number };
  paths: number;
  /** Present only when something was missed: what, by id or label. */
  uncovered?: { states: string[]; transitions: string[] };
}

export const coverageFile = fileURLToPath(new URL('../coverage.json', import.meta.url));

export class ChartCoverage {
  private readonly states: Map<string, boolean>;
  private readonly transitions: Map<string, { transition: ChartTransition; covered: boolean }>;
  /** Paths replayed to the end against the real system. */
  paths = 0;

  constructor(
    readonly chart: string,
    machine: AnyStateMachine,
  ) {
    this.states = new Map(stateNodesOf(machine).map((node) => [node.id, false]));
    this.transitions = new Map(
      transitionsOf(machine).map((transition) => [transition.key, { transition, covered: false }]),
    );
  }

  coverStates(ids: Iterable<string>): void {
    for (const id of ids) {
      if (!this.states.has(id)) throw new Error(`${this.chart} has no state node ${id}`);
      this.states.set(id, true);
    }
  }

  coverTransitions(keys: Iterable<string>): void {
    for (const key of keys) {
      const entry = this.transitions.get(key);
      if (!entry) throw new Error(`${this.chart} has no transition ${key}`);
      entry.covered = true;
    }
  }

  uncoveredStates(): string[] {
    return [...this.states].filter(([, covered]) => !covered).map(([id]) => id);
  }

  uncoveredTransitions(): string[] {
    return [...this.transitions.values()]
      .filter((entry) => !entry.covered)
      .map((entry) => entry.transition.label);
  }

  entry(): CoverageEntry {
    const states = [...this.states.values()];
    const transitions = [...this.transitions.values()];
    const entry: CoverageEntry = {
      states: { covered: states.filter(Boolean).length, total: states.length },
      transitions: {
        covered: transitions.filter((t) => t.covered).length,
        total: transitions.length,
      },
      paths: this.paths,
    };
    const missedStates = this.uncoveredStates();
    const missedTransitions = this.uncoveredTransitions();
    if (missedStates.length + missedTransitions.length > 0) {
      entry.uncovered = { states: missedStates, transitions: missedTransitions };
    }
    return entry;
  }
}

/** A lock older than this was left by a killed run. */
const staleLockMs = 10_000;

async function withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const lockDir = `${file}.lock`;
  for (let tries = 0; ; tries++) {
    try {
      await mkdir(lockDir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const info = await stat(lockDir).catch(() => null);
      if (info && Date.now() - info.mtimeMs > staleLockMs) await rm(lockDir, { recursive: true });
      if (tries > 1000) throw new Error(`could not lock ${file}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

/** Adds (or replaces) one chart's entry in the shared report, keeping the other charts'. */
export async function recordCoverage(
  chart: string,
  entry: CoverageEntry,
  file = coverageFile,
): Promise<void> {
  await withLock(file, async () => {
    let report: Record<string, CoverageEntry> = {};
    try {
      report = JSON.parse(await readFile(file, 'utf8')) as Record<string, CoverageEntry>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    report[chart] = entry;
    const sorted = Object.fromEntries(
      Object.entries(report).sort(([a], [b]) => a.localeCompare(b)),
    );
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(sorted, null, 2)}\n`);
    await rename(temporary, file);
  });
}
