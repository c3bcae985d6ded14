import { findSender, listGroups, type Db } from '@outbound/db';
import { z } from 'zod';
import { AppError } from '../errors/app-error.ts';
import { errorResponseSchema } from '../errors/error-response.schema.ts';
import { defineRoute, type Route } from '../routing/route.ts';

const groupSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    chat_id: z.string().meta({ description: 'The provider’s chat id (`…@g.us`).' }),
    session_ids: z.array(z.uuid()).meta({ description: 'Sessions the group is present in.' }),
  })
  .meta({ id: 'WhatsappGroup' });

const groupListSchema = z.object({ groups: z.array(groupSchema) }).meta({
  id: 'WhatsappGroupList',
});

/** `GET /v2/groups`: the organization's WhatsApp groups, to find `group_ids`. */
export function groupsRoutes(deps: { db: Db }): Route[] {
  const list = defineRoute({
    method: 'get',
    path: '/v2/groups',
    operationId: 'listWhatsappGroups',
    summary: 'The WhatsApp groups of the caller’s organization',
    tags: ['sessions'],
    auth: 'api-key',
    request: {
      query: z.strictObject({
        session_id: z.uuid().optional().meta({
          description: 'Only groups present in this session (a 404 when it is not one of yours).',
        }),
      }),
    },
    responses: {
      200: { description: 'The groups.', schema: groupListSchema },
      404: { description: 'No such session in the organization.', schema: errorResponseSchema },
    },
  }).handle(async ({ query, principal }) => {
    const organizationId = principal.organizationId;
    if (query.session_id !== undefined) {
      const session = await findSender(deps.db, organizationId, query.session_id);
      if (session === undefined || session.channel !== 'whatsapp') {
        throw AppError.of('not_found', `session ${query.session_id} not found`, {
          session_id: query.session_id,
        });
      }
    }
    const groups = await listGroups(deps.db, { organizationId, sessionId: query.session_id });
    return {
      status: 200,
      body: {
        groups: groups.map(({ id, name, chat_id, session_ids }) => ({
          id,
          name,
          chat_id,
          session_ids,
        })),
      },
    };
  });
  return [list];
}
