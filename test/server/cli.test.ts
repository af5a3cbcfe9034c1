import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dispose, openRawSocket } from '../support/harness.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Generous: tsx compiles the server on first start. */
const START_TIMEOUT_MS = 15_000;

interface Cli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the real CLI, as `npm start` does, with an environment free of our variables. */
function runCli(args: string[], env: Record<string, string> = {}): Cli {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('THREADLINE_') && !['PORT', 'HOST'].includes(key),
    ),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', ...args], {
    cwd: ROOT,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    out += text;
  });
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    err += text;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close', not 'exit': by then stdout and stderr have been read to the end.
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  dispose(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits for pino's "Server listening at …" line and returns that address. */
function listeningAddress(cli: Cli): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the CLI did not start listening: ${cli.stderr()}`)),
      START_TIMEOUT_MS,
    );
    const look = () => {
      for (const line of cli.stdout().split('\n')) {
        if (!line.startsWith('{')) continue;
        const { msg } = JSON.parse(line) as { msg?: string };
        const match = /^Server listening at (http:\/\/\S+)$/.exec(msg ?? '');
        if (match?.[1]) {
          clearTimeout(timer);
          cli.child.stdout?.off('data', look);
          cli.child.off('exit', exited);
          return resolve(match[1]);
        }
      }
    };
    const exited = () => {
      clearTimeout(timer);
      reject(new Error(`the CLI exited before listening: ${cli.stderr()}`));
    };
    cli.child.stdout?.on('data', look);
    cli.child.once('exit', exited);
    look();
  });
}

/** GET without keep-alive, so no pooled socket outlives the test. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (text: string) => {
        body += text;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the command line', () => {
  it('serves /health and /ws, and exits 0 within 2 s of SIGINT', async () => {
    const cli = runCli([
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--preset',
      'development',
      '--responder',
      'counter',
    ]);
    const address = await listeningAddress(cli);
    expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const health = await get(`${address}/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' });

    const raw = await openRawSocket(`${address.replace('http', 'ws')}/ws`);
    raw.send({ type: 'hello', protocol: 1, threadId: 'cli-thread' });
    expect(await raw.next(5000)).toMatchObject({ type: 'welcome', protocol: 1, resumed: false });

    const started = performance.now();
    cli.child.kill('SIGINT');
    const exit = await cli.exited;
    const elapsed = performance.now() - started;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(elapsed).toBeLessThan(2000);
    // The open socket was told the server is going away, not just cut.
    expect(await raw.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    // The JSON logs carry the shutdown.
    expect(cli.stdout()).toMatch(/"signal":"SIGINT"/);
  });

  it.each([
    ['--port abc', ['--port', 'abc'], {}, /invalid port \(--port\).*abc/],
    ['--responder nope', ['--responder', 'nope'], {}, /invalid responder \(--responder\)/],
    ['an unknown flag', ['--turbo'], {}, /--turbo/],
    ['PORT=-1', [], { PORT: '-1' }, /invalid port \(environment PORT\)/],
  ])('exits 2 on %s, naming the option on stderr', async (_name, args, env, message) => {
    const cli = runCli(args, env);
    const exit = await cli.exited;
    expect(exit).toEqual({ code: 2, signal: null });
    expect(cli.stderr()).toMatch(/^threadline: /);
    expect(cli.stderr()).toMatch(message);
    expect(cli.stdout()).toBe('');
  });
});
