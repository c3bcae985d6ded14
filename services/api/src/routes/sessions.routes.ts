import { listSenders, type Db } from '@outbound/db';
import { senderRoleSchema, senderStatusSchema } from '@outbound/domain';
import { z } from 'zod';
import { defineRoute, type Route } from '../routing/route.ts';

const sessionSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    label: z.string(),
    role: senderRoleSchema,
    status: senderStatusSchema,
  })
  .meta({ id: 'WhatsappSession' });

const sessionListSchema = z.object({ sessions: z.array(sessionSchema) }).meta({
  id: 'WhatsappSessionList',
});

/** `GET /v2/sessions`: the organization's WhatsApp sessions, to find a `session_id`. */
export function sessionsRoutes(deps: { db: Db }): Route[] {
  const list = defineRoute({
    method: 'get',
    path: '/v2/sessions',
    operationId: 'listWhatsappSessions',
    summary: 'The WhatsApp sessions of the caller’s organization',
    description:
      'Only sessions with `role: "sending"` and `status: "WORKING"` can be used for sends.',
    tags: ['sessions'],
    auth: 'api-key',
    responses: { 200: { description: 'Every WhatsApp session.', schema: sessionListSchema } },
  }).handle(async ({ principal }) => {
    const senders = await listSenders(deps.db, {
      organizationId: principal.organizationId,
      channel: 'whatsapp',
    });
    return {
      status: 200,
      body: {
        sessions: senders.map(({ id, name, label, role, status }) => ({
          id,
          name,
          label,
          role,
          status,
        })),
      },
    };
  });
  return [list];
}
