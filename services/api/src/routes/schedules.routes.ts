import type { Db } from '@outbound/db';
import type { Queues } from '@outbound/queue';
import { z } from 'zod';
import { errorResponseSchema } from '../errors/error-response.schema.ts';
import { defineRoute, type Route } from '../routing/route.ts';
import { cancelWhatsappSchedule } from '../schedules/cancel-whatsapp-schedule.ts';
import { getScheduleView } from '../schedules/schedule-view.ts';
import { scheduleResponseSchema } from './schedules.schema.ts';

const params = z.object({ schedule_id: z.uuid() });

/** `GET` and `DELETE /v2/outbound/schedules/{schedule_id}`. */
export function schedulesRoutes(deps: { db: Db; queues: Queues }): Route[] {
  const get = defineRoute({
    method: 'get',
    path: '/v2/outbound/schedules/{schedule_id}',
    operationId: 'getWhatsappSchedule',
    summary: 'A scheduled send: its definition, status, next run and the sends it made',
    tags: ['schedules'],
    auth: 'api-key',
    request: { params },
    responses: {
      200: { description: 'The schedule now.', schema: scheduleResponseSchema },
      404: { description: 'No such schedule in the organization.', schema: errorResponseSchema },
    },
  }).handle(async ({ params, principal }, { requestId }) => ({
    status: 200,
    body: {
      request_id: requestId,
      schedule: await getScheduleView(deps.db, principal.organizationId, params.schedule_id),
    },
  }));

  const cancel = defineRoute({
    method: 'delete',
    path: '/v2/outbound/schedules/{schedule_id}',
    operationId: 'cancelWhatsappSchedule',
    summary: 'Cancel a scheduled send',
    description:
      'No further occurrence is made, and deliveries of its sends still `queued` become ' +
      '`canceled` (those already being sent finish). Answers the canceled schedule; canceling ' +
      'it again answers the same.',
    tags: ['schedules'],
    auth: 'api-key',
    request: { params },
    responses: {
      200: { description: 'The canceled schedule.', schema: scheduleResponseSchema },
      404: { description: 'No such schedule in the organization.', schema: errorResponseSchema },
      409: {
        description: 'The schedule is completed: there is nothing left to cancel (`conflict`).',
        schema: errorResponseSchema,
      },
    },
  }).handle(async ({ params, principal }, { requestId, log }) => ({
    status: 200,
    body: {
      request_id: requestId,
      schedule: await cancelWhatsappSchedule(
        deps,
        principal.organizationId,
        params.schedule_id,
        log,
      ),
    },
  }));

  return [get, cancel];
}
