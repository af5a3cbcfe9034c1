/**
 * What the thermal and breaker tests (and their model tests) share: a real sensor file in a temp
 * directory, written atomically the way a kernel would never tear a reading; and a real client
 * that keeps every frame the server sent it, batches unpacked, so a test can count status frames.
 */
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  createThreadClient,
  type ThreadClient,
  type WebSocketConstructor,
} from '../../client/index.ts';
import type { StatusFrame } from '../../machines/protocol.ts';
import { dispose } from '../support/harness.ts';

export interface SensorFile {
  /** The thermal-zone file the server is told to read. */
  path: string;
  /** Writes a reading in °C (stored as millidegrees, like `/sys/class/thermal`). */
  write(celsius: number): Promise<void>;
  /** Writes something that is not a reading. */
  garble(text?: string): Promise<void>;
  /** Makes the sensor vanish. */
  remove(): Promise<void>;
}

let writes = 0;

/** A sensor file in a fresh temp directory, removed after the test. */
export async function createSensorFile(celsius?: number): Promise<SensorFile> {
  const dir = await mkdtemp(join(tmpdir(), 'threadline-thermal-'));
  dispose(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'temp');
  const put = async (text: string) => {
    const temporary = join(dir, `temp.${++writes}.tmp`);
    await writeFile(temporary, text);
    await rename(temporary, path);
  };
  const file: SensorFile = {
    path,
    write: (value) => put(`${Math.round(value * 1000)}\n`),
    garble: (text = 'not a temperature\n') => put(text),
    remove: () => rm(path, { force: true }),
  };
  if (celsius !== undefined) await file.write(celsius);
  return file;
}

export interface WatchingClient {
  client: ThreadClient;
  /** Every frame received, in order, batches unpacked. */
  frames: Array<Record<string, unknown>>;
  /** The status frames received, in order. */
  statuses(): StatusFrame[];
  /** The latest status frame's thermal state, or null before the first. */
  thermalState(): StatusFrame['thermal']['state'] | null;
  breakerState(): StatusFrame['breaker']['state'] | null;
}

/** A real thread client over ws that records every frame; closed after the test. */
export function openWatchingClient(url: string): WatchingClient {
  const frames: Array<Record<string, unknown>> = [];
  class RecordingWebSocket extends WebSocket {
    constructor(address: string) {
      super(address);
      this.addEventListener('message', (event) => {
        const value: unknown = JSON.parse(String(event.data));
        for (const frame of Array.isArray(value) ? value : [value]) {
          frames.push(frame as Record<string, unknown>);
        }
      });
    }
  }
  const client = createThreadClient({
    url,
    WebSocket: RecordingWebSocket as unknown as WebSocketConstructor,
  });
  dispose(() => client.close());
  const statuses = () => frames.filter((frame) => frame.type === 'status') as StatusFrame[];
  return {
    client,
    frames,
    statuses,
    thermalState: () => client.status().server?.thermal.state ?? null,
    breakerState: () => client.status().server?.breaker.state ?? null,
  };
}
