/**
 * The server's one configuration object, built from defaults ← preset ← environment ← flags and
 * validated as a whole. Each option is declared once here; docs/configuration.md is generated
 * from this table (`npm run docs:config`) and a test keeps the two in step.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseThermalProfile } from './thermal/profile.ts';

export const presetNames = ['development', 'production', 'test'] as const;
export type PresetName = (typeof presetNames)[number];

const int = (min: number) => z.coerce.number().int().min(min);

/** Every option: its schema, flag, environment variable, default, preset overrides and meaning. */
export const options = {
  port: {
    schema: int(0).max(65535),
    flag: 'port',
    env: 'PORT',
    default: 8080,
    doc: 'TCP port to listen on (0 picks a free one).',
  },
  host: {
    schema: z.string().min(1),
    flag: 'host',
    env: 'HOST',
    default: 'localhost',
    presets: { production: '0.0.0.0' },
    doc: 'Interface to bind.',
  },
  logLevel: {
    schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
    flag: 'log-level',
    env: 'THREADLINE_LOG_LEVEL',
    default: 'info',
    presets: { development: 'debug', test: 'silent' },
    doc: 'pino log level.',
  },
  ui: {
    schema: z.enum(['static', 'vite', 'none']),
    flag: 'ui',
    env: 'THREADLINE_UI',
    default: 'static',
    presets: { test: 'none' },
    doc: 'The browser app at `/`: `static` serves the build in dist/app (`npm run build`; `npm start` builds it when stale), `vite` serves the sources with hot reload (`npm run dev`), `none` serves no page.',
  },
  store: {
    schema: z.enum(['sqlite', 'memory']),
    flag: 'store',
    env: 'THREADLINE_STORE',
    default: 'sqlite',
    presets: { test: 'memory' },
    doc: 'Where threads, turns, sessions and unacknowledged frames are kept: `sqlite` (a database file in `--data-dir`, survives restarts) or `memory` (nothing on disk; lost with the process).',
  },
  dataDir: {
    schema: z.string().min(1),
    flag: 'data-dir',
    env: 'THREADLINE_DATA_DIR',
    default: './data',
    doc: 'Directory of the sqlite store (created if missing).',
  },
  storeSync: {
    schema: z.enum(['normal', 'full']),
    flag: 'store-sync',
    env: 'THREADLINE_STORE_SYNC',
    default: 'normal',
    doc: 'SQLite durability: `normal` (WAL, survives a process crash) or `full` (fsync on every commit, survives power loss: SD cards, a Raspberry Pi).',
  },
  responder: {
    schema: z.enum(['local', 'counter', 'openai']),
    flag: 'responder',
    env: 'THREADLINE_RESPONDER',
    default: 'local',
    doc: 'What answers requests: the embedded local responder, the counter (tests, benchmarks) or an OpenAI-compatible upstream.',
  },
  localWordDelayMs: {
    schema: z.coerce.number().min(0),
    flag: 'local-word-delay-ms',
    env: 'THREADLINE_LOCAL_WORD_DELAY_MS',
    default: 40,
    presets: { test: 5 },
    doc: 'Pause between words of the local responder.',
  },
  openaiBaseUrl: {
    schema: z.string().url(),
    flag: 'openai-base-url',
    env: 'OPENAI_BASE_URL',
    default: 'http://localhost:11434/v1',
    doc: 'Base URL of the OpenAI-compatible upstream (Ollama, llama.cpp, vLLM, OpenAI).',
  },
  openaiApiKey: {
    schema: z.string(),
    flag: 'openai-api-key',
    env: 'OPENAI_API_KEY',
    default: 'not-needed',
    doc: 'API key for the upstream (local servers ignore it).',
  },
  openaiModel: {
    schema: z.string().min(1),
    flag: 'openai-model',
    env: 'OPENAI_MODEL',
    default: 'llama3.2',
    doc: 'Model name sent to the upstream.',
  },
  heartbeatIntervalMs: {
    schema: int(10),
    flag: 'heartbeat-interval-ms',
    env: 'THREADLINE_HEARTBEAT_INTERVAL_MS',
    default: 2000,
    doc: 'The server pings every client this often.',
  },
  silenceLimitMs: {
    schema: int(20),
    flag: 'silence-limit-ms',
    env: 'THREADLINE_SILENCE_LIMIT_MS',
    default: 5000,
    doc: 'A peer silent this long is dead (both ends apply it).',
  },
  handshakeTimeoutMs: {
    schema: int(10),
    flag: 'handshake-timeout-ms',
    env: 'THREADLINE_HANDSHAKE_TIMEOUT_MS',
    default: 5000,
    doc: 'A socket that has not sent hello by then is closed with 4408.',
  },
  sessionTtlMs: {
    schema: int(0),
    flag: 'session-ttl-ms',
    env: 'THREADLINE_SESSION_TTL_MS',
    default: 300_000,
    doc: 'How long a session is kept after its socket drops.',
  },
  replayBufferFrames: {
    schema: int(1),
    flag: 'replay-buffer-frames',
    env: 'THREADLINE_REPLAY_BUFFER_FRAMES',
    default: 10_000,
    doc: 'Unacknowledged frames kept per session; a stream pauses when full.',
  },
  replayBufferBytes: {
    schema: int(1024),
    flag: 'replay-buffer-bytes',
    env: 'THREADLINE_REPLAY_BUFFER_BYTES',
    default: 8 * 1024 * 1024,
    doc: 'Unacknowledged bytes kept per session; a stream pauses when full.',
  },
  maxFrameBytes: {
    schema: int(256),
    flag: 'max-frame-bytes',
    env: 'THREADLINE_MAX_FRAME_BYTES',
    default: 64 * 1024,
    doc: 'Largest client frame accepted; larger ones close with 4413.',
  },
  cancelTimeoutMs: {
    schema: int(1),
    flag: 'cancel-timeout-ms',
    env: 'THREADLINE_CANCEL_TIMEOUT_MS',
    default: 500,
    doc: 'A cancelled responder that has not stopped by then is abandoned (forced).',
  },
  closeTimeoutMs: {
    schema: int(1),
    flag: 'close-timeout-ms',
    env: 'THREADLINE_CLOSE_TIMEOUT_MS',
    default: 500,
    doc: 'After a goodbye, a socket not closed by then is closed by force.',
  },
  sendHighWaterBytes: {
    schema: int(1024),
    flag: 'send-high-water-bytes',
    env: 'THREADLINE_SEND_HIGH_WATER_BYTES',
    default: 1024 * 1024,
    doc: 'A stream pauses while the socket has more than this unsent.',
  },
  drainTimeoutMs: {
    schema: int(0),
    flag: 'drain-timeout-ms',
    env: 'THREADLINE_DRAIN_TIMEOUT_MS',
    default: 10_000,
    doc: 'On SIGTERM or SIGINT, how long streams in flight may finish before the rest are cancelled and every socket closes with 1001.',
  },
  slowConsumerTimeoutMs: {
    schema: int(1),
    flag: 'slow-consumer-timeout-ms',
    env: 'THREADLINE_SLOW_CONSUMER_TIMEOUT_MS',
    default: 30_000,
    doc: 'A socket that stays above the send high-water mark this long is closed with 1013; its session is kept for a resume.',
  },
  rateLimitPerSecond: {
    schema: int(1),
    flag: 'rate-limit-per-second',
    env: 'THREADLINE_RATE_LIMIT_PER_SECOND',
    default: 100,
    doc: 'Frames a client may send per second, sustained; above it (after the burst) the socket is closed with 4429.',
  },
  rateLimitBurst: {
    schema: int(1),
    flag: 'rate-limit-burst',
    env: 'THREADLINE_RATE_LIMIT_BURST',
    default: 200,
    doc: 'Frames a client may send in a burst before the per-second rate applies.',
  },
  allowedOrigins: {
    schema: z.string(),
    flag: 'allowed-origins',
    env: 'THREADLINE_ALLOWED_ORIGINS',
    default: '',
    doc: "Comma-separated browser Origins allowed to open a socket, besides the server's own; `*` allows any. Sockets from other Origins are closed with 4403 (against cross-site WebSocket hijacking). Clients that send no Origin (Node, native apps) are not affected.",
  },
  thermalSensor: {
    schema: z.string().min(1),
    flag: 'thermal-sensor',
    env: 'THREADLINE_THERMAL_SENSOR',
    default: 'auto',
    presets: { test: 'none' },
    doc: 'CPU temperature file (millidegrees, as in /sys/class/thermal/thermal_zone*/temp); `auto` picks the `cpu-thermal` zone (else the first zone), `none` disables the sensor.',
  },
  thermalSimulate: {
    schema: z.string().min(1),
    flag: 'thermal-simulate',
    env: 'THREADLINE_THERMAL_SIMULATE',
    default: 'off',
    doc: 'Replaces the sensor with a scripted profile, one reading per poll: `climb`, `critical` or `flaky` (built in), or a list like `70,86x5,82,79` (°C, `xN` repeats, `-1` a failed read); the last reading holds. `off` reads the real sensor.',
  },
  thermalPollMs: {
    schema: int(10),
    flag: 'thermal-poll-ms',
    env: 'THREADLINE_THERMAL_POLL_MS',
    default: 1000,
    doc: 'How often the thermal sensor is read.',
  },
  throttleAtCelsius: {
    schema: z.coerce.number(),
    flag: 'throttle-at-celsius',
    env: 'THREADLINE_THROTTLE_AT_CELSIUS',
    default: 85,
    doc: 'At or above this the server throttles: new requests are refused with `overheated`, streams slow down.',
  },
  resumeAtCelsius: {
    schema: z.coerce.number(),
    flag: 'resume-at-celsius',
    env: 'THREADLINE_RESUME_AT_CELSIUS',
    default: 80,
    doc: 'Throttling ends at or below this; must be below `throttleAtCelsius`.',
  },
  criticalAtCelsius: {
    schema: z.coerce.number(),
    flag: 'critical-at-celsius',
    env: 'THREADLINE_CRITICAL_AT_CELSIUS',
    default: 90,
    doc: 'At or above this streams in flight are stopped too (until back at `throttleAtCelsius`); must be above `throttleAtCelsius`.',
  },
  throttleChunkDelayMs: {
    schema: int(0),
    flag: 'throttle-chunk-delay-ms',
    env: 'THREADLINE_THROTTLE_CHUNK_DELAY_MS',
    default: 50,
    doc: 'While throttled, each chunk of a stream in flight waits this long first.',
  },
  overheatedRetryAfterMs: {
    schema: int(0),
    flag: 'overheated-retry-after-ms',
    env: 'THREADLINE_OVERHEATED_RETRY_AFTER_MS',
    default: 10_000,
    doc: 'The `retryAfterMs` hint of an `overheated` refusal.',
  },
  breakerFailureThreshold: {
    schema: int(1),
    flag: 'breaker-failure-threshold',
    env: 'THREADLINE_BREAKER_FAILURE_THRESHOLD',
    default: 5,
    doc: 'Consecutive upstream failures that open the circuit breaker.',
  },
  breakerCooldownMs: {
    schema: int(1),
    flag: 'breaker-cooldown-ms',
    env: 'THREADLINE_BREAKER_COOLDOWN_MS',
    default: 30_000,
    doc: 'How long the open breaker fails requests fast before letting one trial through.',
  },
  metrics: {
    schema: z.enum(['on', 'off']),
    flag: 'metrics',
    env: 'THREADLINE_METRICS',
    default: 'on',
    doc: 'Count connections, sessions, frames, requests and latencies for `GET /metrics` (Prometheus text) and `GET /health/websocket`. Off: no `/metrics` route, and the health page reports gauges only.',
  },
  inspect: {
    schema: z.enum(['off', 'local', 'stately']),
    flag: 'inspect',
    env: 'THREADLINE_INSPECT',
    default: 'local',
    presets: { production: 'off' },
    doc: 'Live statechart inspection: `local` serves the actor system’s inspection events on the `/inspect` WebSocket (nothing is tapped while no page is connected); `stately` also feeds the hosted Stately inspector (needs internet and `npm install @statelyai/inspect`); `off` registers no route.',
  },
} as const;

type Options = typeof options;
export type ServerConfig = { [K in keyof Options]: z.output<Options[K]['schema']> } & {
  preset: PresetName;
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function presetValue(option: Options[keyof Options], preset: PresetName): unknown {
  const presets =
    'presets' in option ? (option.presets as Partial<Record<PresetName, unknown>>) : undefined;
  return presets?.[preset] ?? option.default;
}

/** Validates one layered set of raw values into a config, naming the first bad option. */
export function resolveConfig(
  overrides: Partial<Record<keyof Options, unknown>> = {},
  preset: PresetName = 'development',
  env: Record<string, string | undefined> = {},
): ServerConfig {
  const out: Record<string, unknown> = { preset };
  for (const [key, option] of Object.entries(options) as [
    keyof Options,
    Options[keyof Options],
  ][]) {
    let raw: unknown = presetValue(option, preset);
    let source = `preset ${preset}`;
    const fromEnv = env[option.env];
    if (fromEnv !== undefined && fromEnv !== '') {
      raw = fromEnv;
      source = `environment ${option.env}`;
    }
    if (overrides[key] !== undefined) {
      raw = overrides[key];
      source = `--${option.flag}`;
    }
    const parsed = (option.schema as z.ZodType).safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ConfigError(
        `invalid ${key} (${source}): ${issue?.message ?? 'invalid value'}: ${String(raw)}`,
      );
    }
    out[key] = parsed.data;
  }
  const config = out as ServerConfig;
  if (config.thermalSimulate !== 'off') {
    try {
      parseThermalProfile(config.thermalSimulate);
    } catch (error) {
      throw new ConfigError(`invalid thermalSimulate: ${(error as Error).message}`);
    }
  }
  if (config.resumeAtCelsius >= config.throttleAtCelsius) {
    throw new ConfigError(
      `invalid resumeAtCelsius: ${config.resumeAtCelsius} must be below throttleAtCelsius (${config.throttleAtCelsius}), or throttling could never end`,
    );
  }
  if (config.criticalAtCelsius <= config.throttleAtCelsius) {
    throw new ConfigError(
      `invalid criticalAtCelsius: ${config.criticalAtCelsius} must be above throttleAtCelsius (${config.throttleAtCelsius})`,
    );
  }
  if (config.silenceLimitMs <= config.heartbeatIntervalMs) {
    throw new ConfigError(
      `invalid silenceLimitMs: ${config.silenceLimitMs} must exceed heartbeatIntervalMs (${config.heartbeatIntervalMs})`,
    );
  }
  return config;
}

/** Builds the config for the CLI from argv and the environment. */
export function configFromCli(
  argv: string[],
  env: Record<string, string | undefined>,
): ServerConfig {
  const flagOptions: Record<string, { type: 'string' }> = { preset: { type: 'string' } };
  for (const option of Object.values(options)) flagOptions[option.flag] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: flagOptions,
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const preset = values.preset ?? env.THREADLINE_PRESET ?? 'development';
  if (!presetNames.includes(preset as PresetName)) {
    throw new ConfigError(`invalid preset: ${String(preset)} (expected ${presetNames.join(', ')})`);
  }
  const overrides: Partial<Record<keyof Options, unknown>> = {};
  for (const [key, option] of Object.entries(options) as [
    keyof Options,
    Options[keyof Options],
  ][]) {
    if (values[option.flag] !== undefined) overrides[key] = values[option.flag];
  }
  return resolveConfig(overrides, preset as PresetName, env);
}
