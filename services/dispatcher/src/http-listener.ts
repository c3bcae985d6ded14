import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import type { Logger } from '@outbound/config';
import { type Db, pingDatabase } from '@outbound/db';
import { withTimeout } from '@outbound/domain';
import { pingRedis } from '@outbound/queue';
import type { Dispatcher } from './dispatcher.ts';
import type { DispatcherMetrics } from './metrics.ts';

/** The paths a dispatcher's listener serves (GET or HEAD); anything else is a 404. */
export const DISPATCHER_HTTP_PATHS = {
  metrics: '/metrics',
  liveness: '/healthz',
  readiness: '/readyz',
} as const;

export interface HttpListenerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  dispatcher: Pick<Dispatcher, 'status'>;
  metrics: DispatcherMetrics;
  /** Pinged by `/readyz`: the dispatcher's pool and its worker connection. */
  db: Db;
  redis: Redis;
  logger: Logger;
  /** How long Postgres and Redis each have to answer `/readyz`; 1000 ms by default. */
  readinessTimeoutMs?: number;
}

export interface HttpListener {
  /** Where it listens, e.g. `http://127.0.0.1:9464`. */
  url: string;
  /** Stops listening and drops open connections. Safe to call twice. */
  close(): Promise<void>;
}

type Check = 'ok' | 'down';

/**
 * A dispatcher's own small HTTP listener, for Prometheus and Kubernetes:
 * - `/metrics`: the dispatcher's registry in the Prometheus text format;
 * - `/healthz` (liveness): 200 while the process answers and its workers run (or are still
 *   starting, or stopping); 503 only when a worker stopped on its own, which a restart fixes.
 *   A lost Postgres or Redis never fails it: restarting would not bring them back;
 * - `/readyz` (readiness): 200 once started, while Postgres and Redis each answer in time.
 */
export async function startHttpListener(options: HttpListenerOptions): Promise<HttpListener> {
  const { dispatcher, metrics, logger } = options;
  const timeoutMs = options.readinessTimeoutMs ?? 1_000;

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://dispatcher').pathname;
    const known = (Object.values(DISPATCHER_HTTP_PATHS) as string[]).includes(path);
    if (!known) return json(res, 404, { status: 'not_found', path });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return json(res, 405, { status: 'method_not_allowed' });
    }
    switch (path) {
      case DISPATCHER_HTTP_PATHS.metrics: {
        const text = await metrics.registry.metrics();
        res.writeHead(200, {
          'Content-Type': metrics.registry.contentType,
          'Cache-Control': 'no-store',
        });
        res.end(text);
        return;
      }
      case DISPATCHER_HTTP_PATHS.liveness: {
        const status = dispatcher.status();
        return json(res, status === 'broken' ? 503 : 200, { status });
      }
      default: {
        const status = dispatcher.status();
        const [postgres, redis] = await Promise.all([
          check('postgres', () => withTimeout(pingDatabase(options.db), timeoutMs)),
          check('redis', () => pingRedis(options.redis, timeoutMs)),
        ]);
        const ready = status === 'running' && postgres === 'ok' && redis === 'ok';
        return json(res, ready ? 200 : 503, { status, checks: { postgres, redis } });
      }
    }
  }

  async function check(name: string, ping: () => Promise<void>): Promise<Check> {
    try {
      await ping();
      return 'ok';
    } catch (error) {
      logger.warn({ err: error, dependency: name }, 'readiness check failed');
      return 'down';
    }
  }

  const server = createServer((req, res) => {
    answer(req, res).catch((error: unknown) => {
      logger.error({ err: error, path: req.url }, 'dispatcher http request failed');
      if (!res.headersSent) json(res, 500, { status: 'error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => logger.error({ err: error }, 'dispatcher http listener error'));

  let closing: Promise<void> | undefined;
  return {
    url: urlOf(server.address() as AddressInfo),
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

function json(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
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
