/**
 * Lays a chart's graph out with ELK (layered, compound states as nested boxes, edges routed
 * across the hierarchy) and returns plain shapes in one coordinate system, ready for SVG. The
 * ELK instance and the text measure are passed in: a Web Worker and a canvas in the browser,
 * the synchronous build and an estimate in Node.
 */
import type { ELK, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import {
  allNodes,
  type ChartEdge,
  type ChartGraph,
  type ChartNode,
  initialMarkerId,
} from './chart-graph.ts';

/** Width in pixels of `text` in the chart's font (`font` is a CSS font shorthand). */
export type MeasureText = (text: string, font: string) => number;

export const CHART_FONT = {
  title: '600 13px system-ui, sans-serif',
  note: '11px system-ui, sans-serif',
  label: '11px system-ui, sans-serif',
} as const;

const LINE = 15;
const TITLE_HEIGHT = 26;
const LEAF_MIN_WIDTH = 86;
const LEAF_HEIGHT = 32;
const MARKER = 10;

export interface LaidOutNode {
  id: string;
  node: ChartNode;
  x: number;
  y: number;
  width: number;
  height: number;
  /** How deep in the hierarchy (the root is 0). */
  depth: number;
  /** Whether the node has children (drawn as a container with its title at the top). */
  container: boolean;
}

export interface LaidOutMarker {
  id: string;
  parentId: string;
  x: number;
  y: number;
  size: number;
}

export interface LaidOutEdge {
  edge: ChartEdge;
  /** Start, bends and end. */
  points: Array<{ x: number; y: number }>;
  label?: { x: number; y: number; width: number; height: number; text: string };
}

export interface LaidOutChart {
  width: number;
  height: number;
  nodes: LaidOutNode[];
  markers: LaidOutMarker[];
  edges: LaidOutEdge[];
}

/** A rough width for when no canvas is at hand (tests in Node). */
export const estimateText: MeasureText = (text, font) => {
  const size = Number(/(\d+)px/.exec(font)?.[1] ?? 12);
  return Math.ceil(text.length * size * (font.startsWith('600') ? 0.6 : 0.56));
};

function lines(node: ChartNode): string[] {
  return [...node.notes, ...node.internal];
}

/** The id of the node that holds an edge: the innermost state containing both of its ends. */
function containerOf(edge: ChartEdge, parents: Map<string, string | undefined>): string {
  const ancestors = (id: string) => {
    const out: string[] = [];
    for (let at = parents.get(id); at !== undefined; at = parents.get(at)) out.push(at);
    return out;
  };
  const sourceUp = [edge.source, ...ancestors(edge.source)];
  const targetUp = new Set([edge.target, ...ancestors(edge.target)]);
  // A self-loop, or an arrow into a descendant, lives in the source's parent.
  for (const id of sourceUp.slice(1)) if (targetUp.has(id)) return id;
  return sourceUp.at(-1) ?? edge.source;
}

export type LayoutDirection = 'RIGHT' | 'DOWN';

export async function layoutChart(
  graph: ChartGraph,
  elk: Pick<ELK, 'layout'>,
  measure: MeasureText = estimateText,
  direction: LayoutDirection = 'RIGHT',
): Promise<LaidOutChart> {
  const parents = new Map<string, string | undefined>();
  const byId = new Map<string, ChartNode>();
  const elkById = new Map<string, ElkNode>();
  const depthOf = new Map<string, number>();

  const toElk = (node: ChartNode, depth: number): ElkNode => {
    byId.set(node.id, node);
    depthOf.set(node.id, depth);
    const extra = lines(node);
    const textWidth = Math.max(
      measure(node.key, CHART_FONT.title),
      ...extra.map((line) => measure(line, CHART_FONT.note)),
    );
    let elkNode: ElkNode;
    if (node.children.length === 0) {
      elkNode = {
        id: node.id,
        width: Math.max(LEAF_MIN_WIDTH, textWidth + 28),
        height: LEAF_HEIGHT + extra.length * LINE + (extra.length > 0 ? 4 : 0),
      };
    } else {
      const children = node.children.map((child) => {
        parents.set(child.id, node.id);
        return toElk(child, depth + 1);
      });
      if (node.initial) {
        const marker = initialMarkerId(node.id);
        parents.set(marker, node.id);
        children.unshift({ id: marker, width: MARKER, height: MARKER });
      }
      const top = TITLE_HEIGHT + extra.length * LINE + (extra.length > 0 ? 6 : 0);
      elkNode = {
        id: node.id,
        children,
        layoutOptions: {
          'elk.padding': `[top=${top},left=14,bottom=14,right=14]`,
          'elk.nodeSize.constraints': 'MINIMUM_SIZE',
          'elk.nodeSize.minimum': `(${Math.ceil(textWidth + 28)}, ${top + 20})`,
        },
        edges: [],
      };
    }
    elkById.set(node.id, elkNode);
    return elkNode;
  };

  const root = toElk(graph.root, 0);
  const canvas: ElkNode = {
    id: '(canvas)',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': direction,
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.layered.spacing.nodeNodeBetweenLayers': '44',
      'elk.layered.spacing.edgeNodeBetweenLayers': '14',
      'elk.spacing.nodeNode': '26',
      'elk.spacing.edgeNode': '14',
      'elk.spacing.edgeEdge': '10',
      'elk.spacing.edgeLabel': '3',
      'elk.edgeLabels.placement': 'CENTER',
      'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
      'elk.json.shapeCoords': 'ROOT',
      'elk.json.edgeCoords': 'ROOT',
      'elk.padding': '[top=8,left=8,bottom=8,right=8]',
    },
    children: [root],
    edges: [],
  };

  const elkEdges = new Map<string, ChartEdge>();
  for (const edge of graph.edges) {
    if (!parents.has(edge.target) && edge.target !== graph.root.id) continue;
    const container = elkById.get(containerOf(edge, parents)) ?? canvas;
    const elkEdge: ElkExtendedEdge = {
      id: edge.id,
      sources: [edge.source],
      targets: [edge.target],
    };
    if (edge.label) {
      elkEdge.labels = [
        { text: edge.label, width: measure(edge.label, CHART_FONT.label) + 8, height: 16 },
      ];
    }
    container.edges ??= [];
    container.edges.push(elkEdge);
    elkEdges.set(edge.id, edge);
  }

  const result = await elk.layout(canvas);

  const nodes: LaidOutNode[] = [];
  const markers: LaidOutMarker[] = [];
  const edges: LaidOutEdge[] = [];
  const visit = (elkNode: ElkNode) => {
    const node = byId.get(elkNode.id);
    const box = { x: elkNode.x ?? 0, y: elkNode.y ?? 0 };
    if (node) {
      nodes.push({
        id: node.id,
        node,
        ...box,
        width: elkNode.width ?? 0,
        height: elkNode.height ?? 0,
        depth: depthOf.get(node.id) ?? 0,
        container: node.children.length > 0,
      });
    } else if (elkNode.id.endsWith('::initial')) {
      markers.push({
        id: elkNode.id,
        parentId: parents.get(elkNode.id) ?? '',
        ...box,
        size: elkNode.width ?? MARKER,
      });
    }
    for (const elkEdge of elkNode.edges ?? []) {
      const edge = elkEdges.get(elkEdge.id);
      const section = elkEdge.sections?.[0];
      if (!edge || !section) continue;
      const label = elkEdge.labels?.[0];
      edges.push({
        edge,
        points: [section.startPoint, ...(section.bendPoints ?? []), section.endPoint],
        ...(label
          ? {
              label: {
                x: label.x ?? 0,
                y: label.y ?? 0,
                width: label.width ?? 0,
                height: label.height ?? 0,
                text: label.text ?? '',
              },
            }
          : {}),
      });
    }
    for (const child of elkNode.children ?? []) visit(child);
  };
  visit(result);
  // Parents first, so children are drawn on top of them.
  nodes.sort((a, b) => a.depth - b.depth);
  return {
    width: Math.ceil(result.width ?? 0),
    height: Math.ceil(result.height ?? 0),
    nodes,
    markers,
    edges,
  };
}

/**
 * The chart laid out top-down and left-to-right, whichever fits `box` at the larger scale
 * (top-down unless the other is clearly better): charts differ in shape, and a drawing shrunk
 * too far cannot be read.
 */
export async function layoutChartToFit(
  graph: ChartGraph,
  elk: Pick<ELK, 'layout'>,
  measure: MeasureText = estimateText,
  box = { width: 900, height: 800 },
): Promise<LaidOutChart> {
  const scaleOf = (chart: LaidOutChart) =>
    Math.min(1, box.width / Math.max(1, chart.width), box.height / Math.max(1, chart.height));
  const down = await layoutChart(graph, elk, measure, 'DOWN');
  if (scaleOf(down) >= 1) return down;
  const right = await layoutChart(graph, elk, measure, 'RIGHT');
  return scaleOf(right) > scaleOf(down) + 0.05 ? right : down;
}

/** Every state id of the graph (for checks that each was drawn). */
export function stateIds(graph: ChartGraph): string[] {
  return allNodes(graph.root).map((node) => node.id);
}
