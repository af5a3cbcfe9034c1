import { describe, expect, it } from 'vitest';
import { counterResponder } from '../../server/responders/counter.ts';
import type { Responder } from '../../server/responders/responder.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { dispose, openClient, startServer, waitFor } from '../support/harness.ts';

/** The counter responder, recording each request's AbortSignal. */
function recordingCounter() {
  const signals: AbortSignal[] = [];
  const responder: Responder = (request) => {
    signals.push(request.signal);
    return counterResponder(request);
  };
  return { responder, signals };
}

describe('cancellation', () => {
  it('ends with cancelled, fires the upstream AbortSignal, and no chunk arrives after it', async () => {
    const { responder, signals } = recordingCounter();
    const server = await startServer({}, { responder });
    const client = openClient(server.url);
    const handle = client.request('100000 1');
    let received = 0;
    const reading = (async () => {
      for await (const _ of handle) {
        received++;
        if (received === 5) handle.cancel();
      }
    })();
    const result = await handle.result;
    await reading;
    expect(result.status).toBe('cancelled');
    expect(signals[0]?.aborted).toBe(true);
    const textAtCancel = result.text;
    expect(textAtCancel.split('\n').length - 1).toBeGreaterThanOrEqual(5);
    // Whatever is still on the wire must not reach the caller after `cancelled`.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await handle.result).text).toBe(textAtCancel);
    expect(client.status().streaming).toBe(false);
    // The thread is free again at once.
    expect((await client.request('2').result).text).toBe('0\n1\n');
  });

  it('reports done when the answer completed before the cancel reached the server', async () => {
    const server = await startServer({ responder: 'counter' });
    const proxy = await new FaultProxy({ targetPort: server.port }).start();
    dispose(() => proxy.stop());
    const client = openClient(proxy.url);
    await waitFor(() => client.status().connection === 'linked.open.ready');
    // The answer leaves the server but is held on the way; the cancel overtakes it.
    proxy.holdDownstream();
    const handle = client.request('3');
    await waitFor(() => server.app.threadline.store.values().next().value?.lastSeq === 5, {
      what: 'accepted, 3 chunks and done sent',
    });
    handle.cancel();
    proxy.releaseDownstream();
    const result = await handle.result;
    expect(result).toEqual({ status: 'done', text: '0\n1\n2\n' });
  });

  it('cancels a queued request without sending it', async () => {
    const server = await startServer({ responder: 'counter' });
    const client = openClient(server.url);
    await waitFor(() => client.status().connection === 'linked.open.ready');
    const first = client.request('50 1');
    const second = client.request('5');
    expect(client.status().queued).toBe(1);
    second.cancel();
    expect(await second.result).toEqual({ status: 'cancelled', text: '' });
    expect((await first.result).status).toBe('done');
    expect(client.status().queued).toBe(0);
  });
});
