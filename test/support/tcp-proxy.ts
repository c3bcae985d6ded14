import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP relay on 127.0.0.1 in front of a server (Postgres, Redis) that a test can cut and
 * restore, to play an outage without touching the shared server: point a service's URL at
 * `port` instead of the server's.
 */
export interface TcpProxy {
  /** Where the relay listens on 127.0.0.1; the same before and after a cut. */
  readonly port: number;
  /** True between `cut()` and `restore()`. */
  readonly isCut: boolean;
  /** Connections accepted so far. */
  connections(): number;
  /**
   * Plays the server going away: closes the listener, so a new connection is refused
   * (ECONNREFUSED), and destroys every open connection through the relay in both directions.
   * Resolves once the port is closed. Idempotent.
   */
  cut(): Promise<void>;
  /** Listens again on the same port. Idempotent. */
  restore(): Promise<void>;
  /** Closes the relay and every connection through it, for good. */
  stop(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let count = 0;
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const relay = (client: Socket) => {
    count += 1;
    const upstream = connect(target.port, target.host);
    track(client);
    track(upstream);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  };

  async function listen(): Promise<void> {
    const listening = createServer(relay);
    listening.listen(port, '127.0.0.1');
    // The port was ours a moment ago; another process taking it meanwhile fails loudly here.
    await Promise.race([
      once(listening, 'listening'),
      once(listening, 'error').then(([error]) => Promise.reject(error as Error)),
    ]);
    port = (listening.address() as AddressInfo).port;
    server = listening;
  }

  async function close(): Promise<void> {
    const closing = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (closing !== undefined) {
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    }
  }

  await listen();
  return {
    get port() {
      return port;
    },
    get isCut() {
      return server === undefined;
    },
    connections: () => count,
    cut: close,
    restore: async () => {
      if (server === undefined) await listen();
    },
    stop: close,
  };
}
