/**
 * A loopback TCP proxy that a test controls to misbehave like a real network: pass bytes through,
 * sever every link, refuse new ones, blackhole (bytes stop, nothing closes), delay, or limit
 * bandwidth. It sits between a client and a real server; neither knows it is there.
 */
import net from 'node:net';

export type ProxyMode =
  /** Forward everything. */
  | 'pass'
  /** Accept TCP connections and destroy them at once (as if the port were closed). */
  | 'refuse'
  /** Keep connections open but forward nothing in either direction, and close nothing. */
  | 'blackhole';

export interface FaultProxyOptions {
  /** The real server's port on 127.0.0.1. */
  targetPort: number;
  /** Added latency per forwarded chunk, in ms. */
  delayMs?: number;
  /** Bytes per second in each direction; 0 means unlimited. */
  bytesPerSecond?: number;
}

interface Link {
  client: net.Socket;
  server: net.Socket;
  /** Bytes held while blackholed are dropped, like a dead route would. */
  blackholed: boolean;
  /** Holds bytes from the client after the WebSocket upgrade (a server that never hears us). */
  muteClient: boolean;
  /** Server→client bytes held back while `holdDownstream` is on, delivered on release. */
  heldDown: Buffer[] | null;
}

export class FaultProxy {
  readonly links = new Set<Link>();
  private server: net.Server | null = null;
  private mode: ProxyMode = 'pass';
  private muteClientsAfterUpgrade = false;
  /** Connections accepted since start, whatever became of them. */
  accepted = 0;

  constructor(private readonly options: FaultProxyOptions) {}

  get port(): number {
    const address = this.server?.address();
    if (!address || typeof address === 'string') throw new Error('proxy is not listening');
    return address.port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  async start(port = 0): Promise<this> {
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, '127.0.0.1', () => resolve());
    });
    return this;
  }

  /** Changes how new and (for blackhole) existing links behave. */
  setMode(mode: ProxyMode): void {
    this.mode = mode;
    if (mode === 'blackhole') for (const link of this.links) link.blackholed = true;
  }

  /** New links forward the upgrade but then drop what the client sends (for handshake tests). */
  muteClientAfterUpgrade(on: boolean): void {
    this.muteClientsAfterUpgrade = on;
  }

  /**
   * Holds server→client bytes on every open link (nothing is lost, nothing arrives) until
   * `releaseDownstream()`: a slow path that lets a client's frame overtake the server's reply.
   */
  holdDownstream(): void {
    for (const link of this.links) link.heldDown ??= [];
  }

  releaseDownstream(): void {
    for (const link of this.links) {
      const held = link.heldDown;
      link.heldDown = null;
      for (const data of held ?? []) link.client.write(data);
    }
  }

  /** Destroys every open link at once: both peers see the connection drop. */
  sever(): number {
    const count = this.links.size;
    for (const link of this.links) {
      link.client.destroy();
      link.server.destroy();
    }
    this.links.clear();
    return count;
  }

  async stop(): Promise<void> {
    this.sever();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    // No Nagle delay: the proxy must not add latency a real link would not have.
    client.setNoDelay(true);
    client.on('error', () => {});
    if (this.mode === 'refuse') {
      client.destroy();
      return;
    }
    const server = net.connect(this.options.targetPort, '127.0.0.1');
    server.setNoDelay(true);
    server.on('error', () => client.destroy());
    const link: Link = {
      client,
      server,
      blackholed: this.mode === 'blackhole',
      muteClient: false,
      heldDown: null,
    };
    const muteAfterUpgrade = this.muteClientsAfterUpgrade;
    this.links.add(link);
    const forget = () => {
      this.links.delete(link);
      client.destroy();
      server.destroy();
    };
    client.on('close', forget);
    server.on('close', forget);
    this.pipe(client, server, link, 'up');
    this.pipe(server, client, link, 'down', () => {
      if (muteAfterUpgrade) link.muteClient = true;
    });
  }

  private pipe(
    from: net.Socket,
    to: net.Socket,
    link: Link,
    direction: 'up' | 'down',
    onFirst?: () => void,
  ) {
    const { delayMs = 0, bytesPerSecond = 0 } = this.options;
    let first = true;
    let nextFreeAt = 0;
    from.on('data', (data: Buffer) => {
      if (first) {
        first = false;
        onFirst?.();
      }
      if (link.blackholed || (direction === 'up' && link.muteClient)) return;
      if (direction === 'down' && link.heldDown) {
        link.heldDown.push(data);
        return;
      }
      let wait = delayMs;
      if (bytesPerSecond > 0) {
        const now = Date.now();
        nextFreeAt = Math.max(nextFreeAt, now) + (data.length / bytesPerSecond) * 1000;
        wait += nextFreeAt - now;
      }
      if (wait <= 0) {
        to.write(data);
        return;
      }
      setTimeout(() => {
        if (!link.blackholed && !to.destroyed) to.write(data);
      }, wait);
    });
  }
}
