/**
 * Keeps the documentation honest: docs/configuration.md must be what the generator renders from
 * server/config.ts, and docs/protocol.md must cover every frame and close code the code defines,
 * with examples that the real parsers accept and a close-code table that agrees with
 * `isRetryableClose`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultBackoffPolicy, retryDelayMs } from '../../machines/backoff-schedule.ts';
import { CloseCode, isRetryableClose } from '../../machines/close-codes.ts';
import {
  clientFrame,
  errorCode,
  PROTOCOL_VERSION,
  parseClientFrame,
  parseServerFrame,
  serverFrame,
  sessionLossReason,
} from '../../machines/protocol.ts';
import { configDocsPath, renderConfigDocs } from '../../scripts/write-config-docs.ts';
import { options, presetNames } from '../../server/config.ts';

const protocolPath = fileURLToPath(new URL('../../docs/protocol.md', import.meta.url));
const protocol = readFileSync(protocolPath, 'utf8');

interface Block {
  info: string;
  body: string;
  line: number;
}

/** Every fenced code block, with its info string (`json client`) and where it starts. */
function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i] ?? '');
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !(lines[i] ?? '').startsWith('```'); i++)
      body.push(lines[i] ?? '');
    blocks.push({ info: (open[1] ?? '').trim(), body: body.join('\n'), line: start + 1 });
  }
  return blocks;
}

/** The text under a `## heading`, up to the next heading of the same level. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/protocol.md has no "## ${heading}" section`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** The body rows of the first table in `text`, cells trimmed, escaped pipes kept in cells. */
function tableRows(text: string): { header: string[]; rows: string[][] } {
  const lines = text.split('\n').filter((line) => line.startsWith('|'));
  const cells = (line: string) =>
    line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim());
  const [header = '', , ...body] = lines;
  return { header: cells(header), rows: body.map(cells) };
}

const plain = (cell: string) => cell.replaceAll(/[`*]/g, '').trim();

describe('docs/configuration.md', () => {
  it('is exactly what scripts/write-config-docs.ts renders from server/config.ts', () => {
    expect(
      existsSync(configDocsPath),
      'docs/configuration.md is missing: run `npm run docs:config`',
    ).toBe(true);
    expect(
      readFileSync(configDocsPath, 'utf8'),
      'docs/configuration.md is stale: run `npm run docs:config`',
    ).toBe(renderConfigDocs());
  });

  /** How the page writes a value: an empty string reads as "(empty)". */
  const shown = (value: unknown) => (String(value) === '' ? '(empty)' : String(value));

  it('lists every option with its flag, environment variable, default and preset values', () => {
    const { header, rows } = tableRows(section(renderConfigDocs(), 'Options'));
    expect(header.map(plain)).toEqual([
      'Option',
      'Flag',
      'Environment',
      'Default',
      ...presetNames,
      'Description',
    ]);
    expect(rows.map((row) => plain(row[0] ?? ''))).toEqual(Object.keys(options));
    for (const [key, option] of Object.entries(options)) {
      const row = rows.find((cells) => plain(cells[0] ?? '') === key) ?? [];
      const presets = 'presets' in option ? (option.presets as Record<string, unknown>) : {};
      expect(row.slice(1, 4).map(plain), key).toEqual([
        `--${option.flag}`,
        option.env,
        shown(option.default),
      ]);
      expect(row.slice(4, 4 + presetNames.length).map(plain), `${key}: preset columns`).toEqual(
        presetNames.map((preset) => shown(presets[preset] ?? option.default)),
      );
      expect(row.at(-1), `${key}: description`).toContain(option.doc);
    }
  });

  it('explains precedence, the preset switch and how a bad value is reported', () => {
    const page = renderConfigDocs();
    expect(page).toContain('`--preset <name>`');
    expect(page).toContain('`THREADLINE_PRESET`');
    expect(page).toMatch(/default[\s\S]*preset[\s\S]*environment variable[\s\S]*command-line flag/);
    expect(page).toContain('threadline: invalid port (environment PORT)');
  });
});

describe('docs/protocol.md', () => {
  it(`states protocol version ${PROTOCOL_VERSION}`, () => {
    expect(protocol).toContain(`Protocol version: **${PROTOCOL_VERSION}**`);
  });

  it('has a close-code table that names every CloseCode and agrees with isRetryableClose', () => {
    const { header, rows } = tableRows(section(protocol, 'Close codes'));
    expect(header).toEqual(['code', 'name', 'meaning', 'sent by', 'client action']);
    const documented = new Map(rows.map((row) => [Number(row[0]), row]));
    for (const [name, code] of Object.entries(CloseCode)) {
      const row = documented.get(code);
      expect(
        row,
        `close code ${code} (${name}) is missing from the close-code table`,
      ).toBeDefined();
      expect(plain(row?.[1] ?? ''), `close code ${code}: name`).toBe(name);
      const expected = isRetryableClose(code) ? 'retry' : 'fatal';
      expect(plain(row?.[4] ?? ''), `close code ${code} (${name}): client action`).toBe(expected);
    }
    const known = new Set<number>(Object.values(CloseCode));
    for (const code of documented.keys()) {
      expect(known.has(code), `close code ${code} is documented but not in CloseCode`).toBe(true);
    }
  });

  const directions = [
    { name: 'client', heading: 'Frames: client → server', union: clientFrame },
    { name: 'server', heading: 'Frames: server → client', union: serverFrame },
  ] as const;

  for (const { name, heading, union } of directions) {
    it(`documents every ${name} frame type with a section and an example`, () => {
      const types = union.options.map((option) => option.shape.type.value);
      const text = section(protocol, heading);
      const exampleTypes = new Set(
        fencedBlocks(protocol)
          .filter((block) => block.info === `json ${name}`)
          .map((block) => (JSON.parse(block.body) as { type: string }).type),
      );
      for (const type of types) {
        expect(text, `no "### \`${type}\`" under "## ${heading}"`).toContain(`\n### \`${type}\`\n`);
        expect(exampleTypes.has(type), `no \`json ${name}\` example of '${type}'`).toBe(true);
      }
    });
  }

  it('has only JSON examples that the real parsers accept, each tagged with its direction', () => {
    const parsers = { client: parseClientFrame, server: parseServerFrame };
    const json = fencedBlocks(protocol).filter((block) => /^json\b/.test(block.info));
    expect(json.length).toBeGreaterThanOrEqual(
      clientFrame.options.length + serverFrame.options.length,
    );
    for (const block of json) {
      const direction = block.info.split(/\s+/)[1];
      const where = `the \`${block.info}\` block at docs/protocol.md:${block.line}`;
      if (direction === 'client' || direction === 'server') {
        expect(() => parsers[direction](block.body), where).not.toThrow();
        continue;
      }
      const value: unknown = JSON.parse(block.body);
      const isFrame = typeof value === 'object' && value !== null && 'type' in value;
      expect(isFrame, `${where} is a frame: tag it \`json client\` or \`json server\``).toBe(false);
    }
  });

  it('has an example conversation whose every frame parses and whose seqs the client accepts', () => {
    const conversation = fencedBlocks(protocol).find((block) => block.info === 'text conversation');
    expect(conversation, 'no ```text conversation block').toBeDefined();
    let lastSeq = 0;
    let sessionId: string | null = null;
    let duplicatesSent = 0;
    const seenRequests = new Set<string>();
    let frames = 0;
    for (const [index, line] of (conversation?.body ?? '').split('\n').entries()) {
      const where = `conversation line ${index + 1}: ${line.slice(0, 60)}`;
      if (line === '' || line.startsWith('#')) continue;
      frames++;
      if (line.startsWith('→ ')) {
        const frame = parseClientFrame(line.slice(2));
        if (frame.type === 'hello' && frame.resume) {
          expect(frame.resume.sessionId, where).toBe(sessionId);
          expect(frame.resume.lastSeq, `${where}: resumes from the last seq held`).toBe(lastSeq);
        }
        if (frame.type === 'ack')
          expect(frame.seq, `${where}: acks only what it holds`).toBeLessThanOrEqual(lastSeq);
        if (frame.type === 'request') {
          if (seenRequests.has(frame.requestId)) duplicatesSent++;
          seenRequests.add(frame.requestId);
        }
      } else if (line.startsWith('← ')) {
        const frame = parseServerFrame(line.slice(2));
        if (frame.type === 'welcome') {
          if (!frame.resumed) lastSeq = 0;
          sessionId = frame.sessionId;
        }
        if ('seq' in frame && frame.seq !== undefined && frame.seq > lastSeq) {
          expect(frame.seq, `${where}: no gap`).toBe(lastSeq + 1);
          lastSeq = frame.seq;
        }
      } else {
        throw new Error(`${where}: expected "→ {…}", "← {…}", "# …" or a blank line`);
      }
    }
    expect(frames).toBeGreaterThan(10);
    expect(duplicatesSent, 'the example shows a request sent again after the resume').toBe(1);
  });

  it('lists every error code and every lost reason', () => {
    const { rows } = tableRows(section(protocol, 'Error codes'));
    expect(rows.map((row) => plain(row[0] ?? '')).sort()).toEqual([...errorCode.options].sort());
    const handshake = section(protocol, 'Handshake');
    for (const reason of sessionLossReason.options) {
      expect(handshake, `lost reason '${reason}'`).toContain(`- \`${reason}\` —`);
    }
  });

  it('gives the reconnection schedule of machines/backoff-schedule.ts', () => {
    const policy = defaultBackoffPolicy;
    const { rows } = tableRows(section(protocol, 'Reconnection'));
    expect(rows.map((row) => Number(row[0]))).toEqual(
      Array.from({ length: policy.maxAttempts }, (_, i) => i + 1),
    );
    expect(rows[0]?.[1]).toBe(`random 0–${policy.firstDelayMaxMs} ms`);
    for (const row of rows.slice(1)) {
      const attempt = Number(row[0]);
      const nominalSeconds = retryDelayMs(attempt, policy, 0.5) / 1000;
      expect(row[1], `attempt ${attempt}`).toBe(`${nominalSeconds} s ± ${policy.jitter * 100} %`);
    }
  });
});
