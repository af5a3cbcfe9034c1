import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  createThreadClient,
  type RequestResult,
  type WebSocketConstructor,
} from '../../client/index.ts';
import { listeningAddress, runCli } from '../support/cli-process.ts';
import { dispose, openClient, openRawSocket, startServer, waitFor } from '../support/harness.ts';

const full = process.env.THREADLINE_FAULTS === 'full';

describe('graceful drain', () => {
  it('stops admitting, lets short streams finish, cancels the rest, closes with 1001', async () => {
    const server = await startServer({ responder: 'counter', drainTimeoutMs: 300 });
    const quick = openClient(server.url);
    const slow = openClient(server.url);
    const quickHandle = quick.request('100 2'); // about 200 ms: finishes inside the drain window
    const slowHandle = slow.request('100000 1'); // far longer: cancelled when the window ends
    for await (const _ of slowHandle) break;
    for await (const _ of quickHandle) break;

    const closeCodes: number[] = [];
    slow.actor.subscribe((snapshot) => {
      if (snapshot.matches('reconnecting') && snapshot.context.lastCloseCode !== null) {
        closeCodes.push(snapshot.context.lastCloseCode);
      }
    });
    const drained = server.app.threadline.drain();
    await waitFor(() => slow.status().server?.draining === true, {
      what: 'the draining status frame',
    });

    // No new work: a new request is refused as retryable, a new socket is turned away.
    const late = await quick.request('1').result;
    expect(late.status).toBe('failed');
    expect(late.error).toMatchObject({ code: 'draining', retryable: true });
    const newcomer = await openRawSocket(server.url);
    expect((await newcomer.closed).code).toBe(4503);

    const summary = await drained;
    expect((await quickHandle.result).status).toBe('done');
    expect((await slowHandle.result).status).toBe('cancelled');
    expect(summary).toMatchObject({ streamsAtStart: 2, streamsFinished: 1, streamsCancelled: 1 });
    expect(summary.connectionsClosed).toBeGreaterThanOrEqual(2);
    expect(server.app.threadline.root.getSnapshot().status).toBe('done');
    await waitFor(() => closeCodes.length > 0, { what: 'the client to see the close' });
    expect(closeCodes[0]).toBe(1001);
  });

  it('SIGTERM during 50 active streams: exits in time and every stream ended', async () => {
    const drainMs = full ? 10_000 : 1_000;
    const cli = runCli([
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--preset',
      'test',
      '--log-level',
      'info',
      '--responder',
      'counter',
      '--drain-timeout-ms',
      String(drainMs),
      '--rate-limit-per-second',
      '1000',
    ]);
    const address = await listeningAddress(cli);
    const url = `${address.replace('http', 'ws')}/ws`;
    const clients = Array.from({ length: 50 }, () => {
      const client = createThreadClient({
        url,
        WebSocket: WebSocket as unknown as WebSocketConstructor,
        config: { backoff: { maxAttempts: 1 } },
      });
      dispose(() => client.close());
      return client;
    });
    // Half would finish inside the drain window, half run far longer than it.
    const handles = clients.map((client, i) => client.request(i % 2 === 0 ? '200 2' : '100000 1'));
    await Promise.all(
      handles.map(async (handle) => {
        for await (const _ of handle) break;
      }),
    );
    const signalledAt = performance.now();
    cli.child.kill('SIGTERM');
    const exit = await cli.exited;
    const exitedAfterMs = performance.now() - signalledAt;
    const results: RequestResult[] = await Promise.all(
      handles.map((handle) =>
        Promise.race([
          handle.result,
          new Promise<RequestResult>((resolve) =>
            setTimeout(() => resolve({ status: 'failed', text: 'hung' }), 2000),
          ),
        ]),
      ),
    );
    expect(exit.code).toBe(0);
    // The drain window, then cancelling the rest and closing every socket. The full run holds the
    // acceptance bound (10 s window, exit within 11 s); the fast one leaves room for a busy CI box.
    expect(exitedAfterMs).toBeLessThan(drainMs + (full ? 1000 : 2500));
    const outcomes = results.map((result) =>
      result.status === 'failed' ? (result.error?.code ?? result.text) : result.status,
    );
    expect(
      outcomes.filter((outcome) => !['done', 'cancelled', 'draining'].includes(outcome)),
    ).toEqual([]);
    expect(outcomes.filter((outcome) => outcome === 'done')).toHaveLength(25);
    const summary = cli
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string; streamsCancelled?: number })
      .find((line) => line.msg === 'drained');
    expect(summary?.streamsCancelled).toBe(25);
  }, 30_000);
});
