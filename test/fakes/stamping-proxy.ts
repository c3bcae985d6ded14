import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as it reached the relay. */
export interface StampedRequest {
  /** When it arrived, in epoch milliseconds (`Date.now()`). */
  at: number;
  method: string;
  /** Path and query. */
  path: string;
  /** The parsed JSON body; the raw text when it was not JSON; undefined when empty. */
  body: unknown;
}

/**
 * An HTTP relay on 127.0.0.1 in front of a fake provider, noting when each request arrived, so a
 * test can read the pace of a client's calls (the fakes record what was called, not when). It
 * passes requests and answers through unchanged; when the provider drops a connection without
 * answering (or part way through its answer), the relay drops the client's connection too, so the
 * client sees what it would have seen without the relay.
 */
export interface StampingProxy {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every request so far, in arrival order. */
  requests(): StampedRequest[];
  /** Closes the relay and every connection through it. */
  stop(): Promise<void>;
}

export async function startStampingProxy(target: string): Promise<StampingProxy> {
  const upstream = new URL(target);
  const stamped: StampedRequest[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const at = Date.now();
    void relay(req, res, at);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function relay(req: IncomingMessage, res: ServerResponse, at: number): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    stamped.push({
      at,
      method: req.method ?? '',
      path: req.url ?? '',
      body: raw.length === 0 ? undefined : parseOrText(raw.toString('utf8')),
    });
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('close', () => {
          if (!answer.complete) req.socket.destroy();
        });
      },
    );
    forwarded.on('error', () => req.socket.destroy());
    forwarded.end(raw);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => stamped.map((entry) => ({ ...entry })),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
