/**
 * Each chart laid out once per page, by ELK in a Web Worker (the layout engine is large and
 * stays off the main thread and out of the main bundle's work), with label widths measured in
 * the chart's real font.
 */
import elkApi from 'elkjs/lib/elk-api.js';
import workerUrl from 'elkjs/lib/elk-worker.min.js?url';
import { chartGraph } from '../../model/inspector/chart-graph.ts';
import {
  estimateText,
  type LaidOutChart,
  layoutChartToFit,
  type MeasureText,
} from '../../model/inspector/chart-layout.ts';
import { chartOf } from '../../model/inspector/charts.ts';

// A CommonJS module: its `default` is the class, in TypeScript's view and in the bundle alike.
const ELK = elkApi.default;
let elk: InstanceType<typeof ELK> | null = null;
const layouts = new Map<string, Promise<LaidOutChart>>();

const measure: MeasureText = (() => {
  const context = globalThis.document?.createElement('canvas').getContext('2d');
  if (!context) return estimateText;
  return (text, font) => {
    context.font = font;
    return Math.ceil(context.measureText(text).width);
  };
})();

/** The layout of chart `name` (the same promise for every caller). */
export function chartLayout(name: string): Promise<LaidOutChart> {
  let layout = layouts.get(name);
  if (!layout) {
    const machine = chartOf(name);
    if (!machine) return Promise.reject(new Error(`no chart named ${name}`));
    elk ??= new ELK({ workerUrl });
    layout = layoutChartToFit(chartGraph(machine), elk, measure);
    // A failure is not kept: the next look tries again.
    layout.catch(() => layouts.delete(name));
    layouts.set(name, layout);
  }
  return layout;
}
