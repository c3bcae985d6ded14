import { z } from 'zod';
import { AppError } from '../errors/app-error.ts';
import { errorResponseSchema } from '../errors/error-response.schema.ts';
import { checkReadiness, type ReadinessOptions } from '../http/readiness.ts';
import { defineRoute, type Route } from '../routing/route.ts';

const dependencyStatus = z.enum(['ok', 'down']);

const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });

const readinessSchema = z
  .object({
    status: z.literal('ok'),
    checks: z.object({ postgres: dependencyStatus, redis: dependencyStatus }),
  })
  .meta({ id: 'Readiness' });

/** `/healthz`: the process is up. `/readyz`: Postgres and Redis answer in time. */
export function healthRoutes(readiness: ReadinessOptions): Route[] {
  const health = defineRoute({
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    summary: 'Liveness: the process is up',
    tags: ['operations'],
    auth: 'none',
    responses: { 200: { description: 'The process is up.', schema: healthSchema } },
  }).handle(() => ({ status: 200, body: { status: 'ok' } }));

  const ready = defineRoute({
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    summary: 'Readiness: Postgres and Redis answer',
    tags: ['operations'],
    auth: 'none',
    responses: {
      200: { description: 'Every dependency answered.', schema: readinessSchema },
      503: {
        description: 'A dependency did not answer in time; `details.checks` names which.',
        schema: errorResponseSchema,
      },
    },
  }).handle(async () => {
    const checks = await checkReadiness(readiness);
    const down = Object.entries(checks)
      .filter(([, status]) => status === 'down')
      .map(([name]) => name);
    if (down.length > 0) {
      throw AppError.of('service_unavailable', `Not ready: ${down.join(' and ')} down`, {
        checks,
      });
    }
    return { status: 200, body: { status: 'ok', checks } };
  });

  return [health, ready];
}
