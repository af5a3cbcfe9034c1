/**
 * A small line chart of the last values, drawn by hand in SVG: newest on the right, a gap where
 * a value is missing, the scale from zero (or the lowest value, if negative) to the highest.
 * Decorative: the numbers it shows are written out beside it.
 */
export interface SparklineProps {
  values: ReadonlyArray<number | null>;
  /**
   * The most values shown across. Fewer are spread over at least `MIN_SPAN` places, growing in
   * from the right, so the first seconds do not fill the width with two points.
   */
  capacity: number;
  tone?: 'ok' | 'warn' | 'error' | 'accent';
}

const WIDTH = 240;
const HEIGHT = 48;
const PAD = 3;
const MIN_SPAN = 12;

export function Sparkline({ values, capacity, tone = 'accent' }: SparklineProps) {
  const present = values.filter((value): value is number => value !== null);
  const max = Math.max(0, ...present);
  const min = Math.min(0, ...present);
  const range = max - min || 1;
  const places = Math.min(capacity, Math.max(values.length, MIN_SPAN));
  const step = (WIDTH - PAD * 2) / Math.max(1, places - 1);
  const offset = places - values.length;
  const x = (index: number) => PAD + (index + offset) * step;
  const y = (value: number) => HEIGHT - PAD - ((value - min) / range) * (HEIGHT - PAD * 2);

  // Runs of consecutive values, each drawn as its own line and area.
  const runs: Array<Array<[number, number]>> = [];
  let run: Array<[number, number]> = [];
  values.forEach((value, index) => {
    if (value === null) {
      if (run.length > 0) runs.push(run);
      run = [];
    } else {
      run.push([x(index), y(value)]);
    }
  });
  if (run.length > 0) runs.push(run);

  const last = runs.at(-1)?.at(-1);
  const baseline = y(Math.max(min, 0));
  return (
    <svg
      className={`sparkline spark-${tone}`}
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      preserveAspectRatio="none"
      aria-hidden="true"
      focusable="false"
    >
      <line className="spark-base" x1={PAD} x2={WIDTH - PAD} y1={baseline} y2={baseline} />
      {runs.map((points) => {
        const first = points[0];
        const end = points.at(-1);
        if (!first || !end) return null;
        const line = points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ');
        return (
          <g key={`${first[0]}`}>
            <polygon
              className="spark-area"
              points={`${first[0].toFixed(1)},${baseline} ${line} ${end[0].toFixed(1)},${baseline}`}
            />
            <polyline className="spark-line" points={line} />
          </g>
        );
      })}
      {last ? <circle className="spark-dot" cx={last[0]} cy={last[1]} r={2.5} /> : null}
    </svg>
  );
}
