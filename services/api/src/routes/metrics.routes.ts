import { Registry } from 'prom-client';
import { defineRoute, type Route } from '../routing/route.ts';

/** `/metrics`: this process's metrics in the Prometheus text format, for a scraper. */
export function metricsRoutes(registry: Registry): Route[] {
  const metrics = defineRoute({
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    summary: "This API process's metrics, for Prometheus",
    description:
      'Prometheus text exposition (0.0.4): `http_request_duration_seconds` by method, route ' +
      'template and status code, and the Node.js process metrics prefixed `outbound_api_`. ' +
      'Without authentication and outside the per-key rate limit, like the health routes: ' +
      'keep it off the public ingress.',
    tags: ['operations'],
    auth: 'none',
    responses: {
      200: {
        description: 'The metrics.',
        binary: { contentTypes: [Registry.PROMETHEUS_CONTENT_TYPE] },
      },
    },
  }).handle(async () => ({
    status: 200,
    body: Buffer.from(await registry.metrics()),
    contentType: registry.contentType,
    headers: { 'Cache-Control': 'no-store' },
  }));
  return [metrics];
}
