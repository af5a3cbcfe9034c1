/**
 * The result table every bench prints: metric | threadline | raw ws | ratio | target | pass/miss.
 * Targets are printed, not asserted: a miss is a finding, not a failure of the bench. When a bench
 * runs under `run-all.ts` its rows also go to the parent over IPC for the closing summary.
 */

export interface ResultRow {
  metric: string;
  threadline: number | null;
  /** The raw `ws` baseline measured in the same run; null when it has no counterpart. */
  raw: number | null;
  unit: string;
  /** Decimal places shown (default: 0 for values ≥ 100, else 2). */
  digits?: number;
  /** Shown as the target column, for example `≥ 0.80× raw` or `< 5 ms`. */
  target?: string;
  /** true pass, false miss, undefined informational. */
  pass?: boolean;
}

export interface BenchResult {
  type: 'bench-result';
  bench: string;
  rows: ResultRow[];
  notes: string[];
}

export function formatNumber(value: number | null, digits?: number): string {
  if (value === null || Number.isNaN(value)) return '—';
  const places = digits ?? (Math.abs(value) >= 100 ? 0 : 2);
  return value.toLocaleString('en-US', {
    minimumFractionDigits: places,
    maximumFractionDigits: places,
  });
}

/** threadline ÷ raw, or null when either is missing or the baseline is zero. */
export function ratio(row: Pick<ResultRow, 'threadline' | 'raw'>): number | null {
  if (row.threadline === null || row.raw === null || row.raw === 0) return null;
  return row.threadline / row.raw;
}

function formatRatio(r: number): string {
  if (r >= 10) return `${r.toFixed(1)}×`;
  return r >= 0.1 || r === 0 ? `${r.toFixed(2)}×` : `${r.toPrecision(2)}×`;
}

function withUnit(value: number | null, row: ResultRow): string {
  const text = formatNumber(value, row.digits);
  return value === null || row.unit === '' ? text : `${text} ${row.unit}`;
}

function verdict(pass: boolean | undefined): string {
  if (pass === undefined) return '';
  return pass ? 'pass' : 'MISS';
}

export function renderTable(rows: readonly ResultRow[]): string {
  const header = ['metric', 'threadline', 'raw ws', 'ratio', 'target', 'pass/miss'];
  const cells = rows.map((row) => {
    const r = ratio(row);
    return [
      row.metric,
      withUnit(row.threadline, row),
      withUnit(row.raw, row),
      r === null ? '—' : formatRatio(r),
      row.target ?? '',
      verdict(row.pass),
    ];
  });
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => (line[column] ?? '').length)),
  );
  const numeric = new Set([1, 2, 3]);
  const line = (values: string[]) =>
    `| ${values
      .map((value, column) => {
        const width = widths[column] ?? 0;
        return numeric.has(column) ? value.padStart(width) : value.padEnd(width);
      })
      .join(' | ')} |`;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(header), rule, ...cells.map(line)].join('\n');
}

/** Prints the bench's table and notes, and hands them to `run-all.ts` when it is the parent. */
export function report(bench: string, rows: ResultRow[], notes: string[] = []): void {
  console.log(`\n## ${bench}\n`);
  console.log(renderTable(rows));
  if (notes.length > 0) console.log(`\n${notes.map((note) => `- ${note}`).join('\n')}`);
  console.log('');
  const result: BenchResult = { type: 'bench-result', bench, rows, notes };
  process.send?.(result);
}
