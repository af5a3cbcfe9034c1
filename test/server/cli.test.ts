import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { listeningAddress, runCli } from '../support/cli-process.ts';
import { openRawSocket } from '../support/harness.ts';

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
