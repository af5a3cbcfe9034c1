/**
 * Renders docs/configuration.md from the `options` table in server/config.ts, so the page cannot
 * drift from the code: `npm run docs:config` rewrites it, and test/docs/docs.test.ts fails when the
 * committed page differs from what `renderConfigDocs()` returns.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  ConfigError,
  configFromCli,
  options,
  type PresetName,
  presetNames,
  resolveConfig,
} from '../server/config.ts';

type Option = (typeof options)[keyof typeof options];

/** Where the generated page lives, relative to this script. */
export const configDocsPath = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));

function presetOverride(option: Option, preset: PresetName): unknown {
  if (!('presets' in option)) return undefined;
  return (option.presets as Partial<Record<PresetName, unknown>>)[preset];
}

/** A value as one would type it, in a code span; pipes escaped for the table. */
function code(value: unknown): string {
  const text = String(value);
  return text === '' ? '(empty)' : `\`${text.replaceAll('|', '\\|')}\``;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** What the option's schema accepts, read from the schema itself. */
function accepts(schema: z.ZodType): string {
  if (schema instanceof z.ZodEnum) {
    return `One of ${schema.options.map((value) => code(value)).join(', ')}.`;
  }
  if (schema instanceof z.ZodNumber) {
    const kind = schema.isInt ? 'An integer' : 'A number';
    const min = schema.minValue;
    const max = schema.maxValue;
    // int() carries the safe-integer range as bounds: those are not worth printing.
    const bounded = (value: number | null) =>
      value !== null && Number.isFinite(value) && Math.abs(value) < Number.MAX_SAFE_INTEGER;
    if (bounded(min) && bounded(max)) return `${kind} from ${min} to ${max}.`;
    if (bounded(min)) return `${kind} ≥ ${min}.`;
    if (bounded(max)) return `${kind} ≤ ${max}.`;
    return `${kind}.`;
  }
  if (schema instanceof z.ZodString) {
    if (schema.format === 'url') return 'A URL.';
    if ((schema.minLength ?? 0) > 0) return 'A non-empty string.';
    return 'A string.';
  }
  return '';
}

/** One start-up command and what it resolves to, worked out by the real resolution. */
function exampleLayers(): string {
  const env = { THREADLINE_PRESET: 'production', PORT: '9000', THREADLINE_LOG_LEVEL: 'debug' };
  const config = configFromCli(['--log-level', 'warn'], env);
  return (
    'For example, with `THREADLINE_PRESET=production PORT=9000 THREADLINE_LOG_LEVEL=debug` set, ' +
    `\`npm start -- --log-level warn\` binds \`${config.host}\` (from the preset), listens on ` +
    `port \`${config.port}\` (from the environment) and logs at \`${config.logLevel}\` ` +
    '(the flag beats the environment).'
  );
}

/** The message start-up stops with for a bad value, produced by the real validation. */
function exampleError(): string {
  try {
    resolveConfig({}, 'production', { PORT: 'eighty' });
  } catch (error) {
    if (error instanceof ConfigError) return `threadline: ${error.message}`;
    throw error;
  }
  throw new Error('expected PORT=eighty to be refused');
}

/** The whole of docs/configuration.md. Pure: reads nothing but the options table. */
export function renderConfigDocs(): string {
  const entries = Object.entries(options) as [keyof typeof options, Option][];
  const overridden = presetNames.map(
    (preset) =>
      `- \`${preset}\`: ${
        entries
          .filter(([, option]) => presetOverride(option, preset) !== undefined)
          .map(([key, option]) => `\`${key}\` = ${code(presetOverride(option, preset))}`)
          .join(', ') || 'the defaults, unchanged'
      }`,
  );
  const header = [
    'Option',
    'Flag',
    'Environment',
    'Default',
    ...presetNames.map((preset) => `\`${preset}\``),
    'Description',
  ];
  const rows = entries.map(([key, option]) => {
    const presetCells = presetNames.map((preset) => {
      const override = presetOverride(option, preset);
      return override === undefined ? code(option.default) : `**${code(override)}**`;
    });
    const description = [option.doc, accepts(option.schema as z.ZodType)].filter(Boolean).join(' ');
    return [
      `\`${key}\``,
      `\`--${option.flag}\``,
      `\`${option.env}\``,
      code(option.default),
      ...presetCells,
      cell(description),
    ];
  });
  const table = [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ];

  return [
    '# Configuration',
    '',
    '<!-- Generated from the `options` table in server/config.ts by scripts/write-config-docs.ts.',
    '     Do not edit by hand: run `npm run docs:config`. A test fails when this page is stale. -->',
    '',
    'The server reads one configuration object, declared option by option in `server/config.ts`',
    'and validated as a whole before anything starts.',
    '',
    '## Where a value comes from',
    '',
    'Each option is resolved in layers; a later layer wins over an earlier one:',
    '',
    '1. the **default** of the option;',
    '2. the **preset**, which overrides a few defaults;',
    '3. the **environment variable** of the option (an empty variable counts as unset);',
    '4. the **command-line flag** of the option.',
    '',
    `The preset is chosen with \`--preset <name>\` or the \`THREADLINE_PRESET\` environment variable (the flag wins); without either it is \`development\`. The presets are ${presetNames.map((preset) => `\`${preset}\``).join(', ')}:`,
    '',
    ...overridden,
    '',
    exampleLayers(),
    '',
    '## Invalid values stop start-up',
    '',
    'Every value is checked against its option’s schema after the layers are applied. The first',
    'invalid one stops start-up (exit code 2) with a message that names the option, the layer the',
    'value came from, what was wrong, and the value itself, for example:',
    '',
    '```text',
    exampleError(),
    '```',
    '',
    'An unknown flag or preset name stops start-up the same way, and `silenceLimitMs` must exceed',
    '`heartbeatIntervalMs` (a peer would otherwise be declared dead between two pings).',
    '',
    '## Options',
    '',
    'Values in **bold** are where a preset differs from the default. Durations are in',
    'milliseconds, sizes in bytes.',
    '',
    ...table,
    '',
  ].join('\n');
}

const runDirectly =
  process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);

if (runDirectly) {
  writeFileSync(configDocsPath, renderConfigDocs());
  process.stdout.write(`wrote ${configDocsPath}\n`);
}
