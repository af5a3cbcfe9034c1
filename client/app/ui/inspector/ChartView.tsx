/**
 * One chart drawn from its definition (laid out by ELK): states as boxes nested in their parents,
 * parallel regions dashed, final states with a double border, an initial dot in each compound
 * state, transitions as arrows labelled with their event. The actor's active states are filled.
 */
import { Suspense, use } from 'react';
import { activeStates, describeValue } from '../../model/inspector/actor-store.ts';
import { ROOT_ID } from '../../model/inspector/chart-graph.ts';
import type { LaidOutChart, LaidOutNode } from '../../model/inspector/chart-layout.ts';
import { chartLayout } from './chart-layouts.ts';

type Outcome = { layout: LaidOutChart } | { error: string };

const outcomes = new Map<string, Promise<Outcome>>();

/** Never rejects, so `use` needs no error boundary. */
function outcomeOf(chart: string): Promise<Outcome> {
  let outcome = outcomes.get(chart);
  if (!outcome) {
    outcome = chartLayout(chart).then(
      (layout) => ({ layout }),
      (error: unknown) => {
        outcomes.delete(chart);
        return { error: error instanceof Error ? error.message : String(error) };
      },
    );
    outcomes.set(chart, outcome);
  }
  return outcome;
}

export interface ChartViewProps {
  chart: string;
  value: unknown;
  /** The actor's status: an active actor's root is active. */
  status: string;
}

export function ChartView(props: ChartViewProps) {
  return (
    <Suspense fallback={<p className="placeholder">Laying out the {props.chart} chart…</p>}>
      <ChartDrawing {...props} />
    </Suspense>
  );
}

function ChartDrawing({ chart, value, status }: ChartViewProps) {
  const outcome = use(outcomeOf(chart));
  if ('error' in outcome) {
    return <p className="notice notice-error">The chart could not be drawn: {outcome.error}</p>;
  }
  const { layout } = outcome;
  const active = activeStates(value);
  if (status === 'active') active.add(ROOT_ID);
  const current = describeValue(value);
  return (
    <div className="chart-scroll" data-testid="chart" data-chart={chart}>
      <svg
        className="chart-svg"
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        width={layout.width}
        height={layout.height}
        style={{ minWidth: Math.min(layout.width, 760) }}
        role="img"
        aria-label={`The ${chart} chart${current ? `, current state ${current}` : ''}`}
      >
        <defs>
          <marker
            id="chart-arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto-start-reverse"
          >
            <path d="M0,0 L10,5 L0,10 z" className="chart-arrowhead" />
          </marker>
        </defs>
        {layout.nodes.map((node) => (
          <StateBox key={node.id} node={node} active={active.has(node.id)} />
        ))}
        {layout.markers.map((marker) => (
          <circle
            key={marker.id}
            className="chart-initial"
            cx={marker.x + marker.size / 2}
            cy={marker.y + marker.size / 2}
            r={marker.size / 2}
          />
        ))}
        {layout.edges.map(({ edge, points, label }) => (
          <g key={edge.id} className={edge.initial ? 'chart-edge initial' : 'chart-edge'}>
            <path
              d={points
                .map((point, index) => `${index === 0 ? 'M' : 'L'}${point.x},${point.y}`)
                .join(' ')}
              markerEnd="url(#chart-arrow)"
            >
              {edge.actions.length > 0 ? (
                <title>{`${edge.label} / ${edge.actions.join(', ')}`}</title>
              ) : null}
            </path>
            {label ? (
              <g className="chart-edge-label">
                <rect
                  className="chart-label-bg"
                  x={label.x}
                  y={label.y}
                  width={label.width}
                  height={label.height}
                  rx={3}
                />
                <text
                  className="chart-label-text"
                  x={label.x + label.width / 2}
                  y={label.y + label.height / 2 + 4}
                >
                  {label.text}
                </text>
              </g>
            ) : null}
          </g>
        ))}
      </svg>
    </div>
  );
}

function StateBox({ node: laid, active }: { node: LaidOutNode; active: boolean }) {
  const { node, x, y, width, height, container } = laid;
  const lines = [...node.notes, ...node.internal];
  const classes = [
    'chart-state',
    container ? 'container' : 'leaf',
    node.role,
    node.type === 'final' ? 'final' : '',
    active ? 'active' : '',
  ]
    .filter(Boolean)
    .join(' ');
  const textX = x + 12;
  const titleY = container ? y + 18 : y + 20;
  return (
    <g className={classes} data-state={node.id} data-active={active ? 'true' : 'false'}>
      <rect x={x} y={y} width={width} height={height} rx={container ? 10 : 8} />
      {node.type === 'final' ? (
        <rect
          className="final-ring"
          x={x + 3}
          y={y + 3}
          width={width - 6}
          height={height - 6}
          rx={6}
        />
      ) : null}
      {node.description ? <title>{node.description}</title> : null}
      <text className="chart-state-title" x={textX} y={titleY}>
        {node.key}
      </text>
      {lines.map((line, index) => (
        <text key={line} className="chart-state-note" x={textX} y={titleY + 16 + index * 15}>
          {line}
        </text>
      ))}
    </g>
  );
}
