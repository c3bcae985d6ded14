import { z } from 'zod';
import { defineRoute, type Route } from '../routing/route.ts';

const whoAmISchema = z
  .object({
    organization_id: z.uuid(),
    actor_user_id: z.string(),
  })
  .meta({ id: 'WhoAmI' });

/** `/v2/me`: who the presented API key acts as. */
export function meRoutes(): Route[] {
  const me = defineRoute({
    method: 'get',
    path: '/v2/me',
    operationId: 'getMe',
    summary: 'The organization and actor the API key belongs to',
    tags: ['auth'],
    auth: 'api-key',
    responses: { 200: { description: 'The caller.', schema: whoAmISchema } },
  }).handle(({ principal }) => ({
    status: 200,
    body: { organization_id: principal.organizationId, actor_user_id: principal.actorUserId },
  }));
  return [me];
}
