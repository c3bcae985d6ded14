import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StartServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** How long `close()` waits for in-flight requests before dropping their connections. */
  shutdownTimeoutMs: number;
  /**
   * How long an idle keep-alive connection stays open; keep it above a load balancer's idle
   * timeout. Node's default (5 s) when omitted.
   */
  keepAliveTimeoutMs?: number;
}

export interface RunningServer {
  /** Where the server listens, e.g. `http://127.0.0.1:3000`. */
  url: string;
  server: Server;
  /**
   * Stops accepting connections at once, lets in-flight requests finish (closing their
   * connections afterwards, keep-alive or not), and resolves when every connection is closed.
   * After `shutdownTimeoutMs` the remaining connections are dropped. Safe to call twice.
   */
  close(): Promise<void>;
}

/** Listens on host:port and resolves once the server accepts connections. */
export async function startServer(
  app: RequestListener,
  options: StartServerOptions,
): Promise<RunningServer> {
  const server = createServer();
  if (options.keepAliveTimeoutMs !== undefined) {
    server.keepAliveTimeout = options.keepAliveTimeoutMs;
  }
  const inFlight = new Set<ServerResponse>();
  let closing: Promise<void> | undefined;

  server.on('request', (_req, res: ServerResponse) => {
    if (closing !== undefined) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.on('close', () => {
      inFlight.delete(res);
      // A keep-alive socket that just went idle would otherwise hold close() open.
      if (closing !== undefined) setImmediate(() => server.closeIdleConnections());
    });
  });
  // Registered after the tracker, so every response is tracked before the app can end it.
  server.on('request', app);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve, reject) => {
      server.close((error) => (error === undefined ? resolve() : reject(error)));
      for (const res of inFlight) {
        if (!res.headersSent) res.setHeader('Connection', 'close');
      }
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), options.shutdownTimeoutMs).unref();
    });
    return closing;
  };

  return { url: urlOf(server.address() as AddressInfo), server, close };
}

function urlOf(address: AddressInfo): string {
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const host = wildcard
    ? 'localhost'
    : address.family === 'IPv6'
      ? `[${address.address}]`
      : address.address;
  return `http://${host}:${address.port}`;
}
