import { describe, expect, it } from 'vitest';
import { ConfigError, configFromCli, options, resolveConfig } from '../../server/config.ts';

/** Runs `build` and returns the ConfigError it threw (failing if it threw nothing else). */
function configError(build: () => unknown): ConfigError {
  try {
    build();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('resolveConfig', () => {
  it('starts from the documented defaults', () => {
    const config = resolveConfig({}, 'development', {});
    expect(config).toMatchObject({
      preset: 'development',
      port: 8080,
      host: 'localhost',
      responder: 'local',
      heartbeatIntervalMs: 2000,
      silenceLimitMs: 5000,
      handshakeTimeoutMs: 5000,
      sessionTtlMs: 300_000,
      replayBufferFrames: 10_000,
      replayBufferBytes: 8 * 1024 * 1024,
      maxFrameBytes: 64 * 1024,
      cancelTimeoutMs: 500,
      closeTimeoutMs: 500,
    });
    // Every option resolves to a value: none is left undefined by a preset.
    for (const key of Object.keys(options)) expect(config, key).toHaveProperty(key);
  });

  it('lets a preset override a default, and only what the preset names', () => {
    expect(resolveConfig({}, 'development')).toMatchObject({
      logLevel: 'debug',
      host: 'localhost',
    });
    expect(resolveConfig({}, 'production')).toMatchObject({ logLevel: 'info', host: '0.0.0.0' });
    expect(resolveConfig({}, 'test')).toMatchObject({
      logLevel: 'silent',
      localWordDelayMs: 5,
      host: 'localhost',
      port: 8080,
    });
  });

  it('lets the environment override the preset', () => {
    const config = resolveConfig({}, 'test', {
      THREADLINE_LOG_LEVEL: 'warn',
      PORT: '9090',
      HOST: '127.0.0.1',
      THREADLINE_HEARTBEAT_INTERVAL_MS: '1000',
    });
    expect(config).toMatchObject({
      logLevel: 'warn',
      port: 9090,
      host: '127.0.0.1',
      heartbeatIntervalMs: 1000,
    });
  });

  it('treats an empty environment variable as unset', () => {
    expect(resolveConfig({}, 'test', { THREADLINE_LOG_LEVEL: '', PORT: '' })).toMatchObject({
      logLevel: 'silent',
      port: 8080,
    });
  });

  it('lets explicit values override the environment', () => {
    const config = resolveConfig({ logLevel: 'error', port: 0 }, 'production', {
      THREADLINE_LOG_LEVEL: 'warn',
      PORT: '9090',
    });
    expect(config).toMatchObject({ logLevel: 'error', port: 0, host: '0.0.0.0' });
  });

  it.each([
    ['port', { port: 'abc' }, {}, /^invalid port \(--port\): .*abc$/],
    ['port', {}, { PORT: '-1' }, /^invalid port \(environment PORT\): .*-1$/],
    ['port', { port: 65_536 }, {}, /^invalid port \(--port\)/],
    ['port', { port: 80.5 }, {}, /^invalid port \(--port\)/],
    ['responder', { responder: 'nope' }, {}, /^invalid responder \(--responder\): .*nope$/],
    [
      'logLevel',
      {},
      { THREADLINE_LOG_LEVEL: 'loud' },
      /^invalid logLevel \(environment THREADLINE_LOG_LEVEL\)/,
    ],
    ['maxFrameBytes', { maxFrameBytes: 10 }, {}, /^invalid maxFrameBytes \(--max-frame-bytes\)/],
    ['openaiBaseUrl', { openaiBaseUrl: 'not a url' }, {}, /^invalid openaiBaseUrl/],
  ])('refuses a bad %s, naming it and where it came from', (_option, overrides, env, message) => {
    const error = configError(() => resolveConfig(overrides, 'test', env));
    expect(error.message).toMatch(message);
  });

  it('refuses a silence limit that does not exceed the heartbeat', () => {
    const error = configError(() =>
      resolveConfig({ heartbeatIntervalMs: 1000, silenceLimitMs: 1000 }, 'test'),
    );
    expect(error.message).toMatch(/silenceLimitMs/);
    expect(error.message).toMatch(/heartbeatIntervalMs/);
  });
});

describe('configFromCli', () => {
  it('layers defaults ← preset ← environment ← flags', () => {
    const env = {
      THREADLINE_PRESET: 'production',
      THREADLINE_LOG_LEVEL: 'warn',
      THREADLINE_RESPONDER: 'counter',
      PORT: '9000',
    };
    const config = configFromCli(['--log-level', 'error', '--port', '9001'], env);
    expect(config).toMatchObject({
      preset: 'production', // from the environment
      host: '0.0.0.0', // from the preset
      responder: 'counter', // from the environment
      logLevel: 'error', // a flag beats the environment
      port: 9001, // a flag, coerced to a number
      sessionTtlMs: 300_000, // the default
    });
  });

  it('takes --preset over THREADLINE_PRESET, and development when neither is given', () => {
    expect(configFromCli([], {}).preset).toBe('development');
    expect(configFromCli([], { THREADLINE_PRESET: 'test' }).preset).toBe('test');
    expect(configFromCli(['--preset', 'production'], { THREADLINE_PRESET: 'test' })).toMatchObject({
      preset: 'production',
      host: '0.0.0.0',
    });
  });

  it('accepts --flag=value', () => {
    expect(configFromCli(['--port=0', '--responder=counter'], {})).toMatchObject({
      port: 0,
      responder: 'counter',
    });
  });

  it.each([
    ['--port abc', ['--port', 'abc'], {}, /^invalid port \(--port\)/],
    ['PORT=-1', [], { PORT: '-1' }, /^invalid port \(environment PORT\)/],
    ['--responder nope', ['--responder', 'nope'], {}, /^invalid responder \(--responder\)/],
    ['an unknown flag', ['--turbo', 'yes'], {}, /--turbo/],
    ['a positional argument', ['serve'], {}, /serve/],
    ['a flag without its value', ['--port'], {}, /--port/],
    ['a bad --preset', ['--preset', 'staging'], {}, /^invalid preset: staging/],
    ['a bad THREADLINE_PRESET', [], { THREADLINE_PRESET: 'staging' }, /^invalid preset: staging/],
  ])('refuses %s with a ConfigError naming it', (_name, argv, env, message) => {
    const error = configError(() => configFromCli(argv, env));
    expect(error.message).toMatch(message);
  });
});
