import { listSandboxDeliveries, sendExists, type Db } from '@outbound/db';
import { channelSchema } from '@outbound/domain';
import { z } from 'zod';
import { AppError } from '../errors/app-error.ts';
import { errorResponseSchema } from '../errors/error-response.schema.ts';
import { defineRoute, type Route } from '../routing/route.ts';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;

const sandboxMessageSchema = z
  .object({
    id: z.uuid(),
    send_id: z.uuid().nullable(),
    recipient_send_id: z.uuid().nullable(),
    group_id: z.uuid().nullable(),
    session_id: z.uuid(),
    channel: channelSchema,
    recipient: z.string().meta({ description: 'Where it went: a chat id, address or number.' }),
    content: z.record(z.string(), z.unknown()).meta({ description: 'What was "delivered".' }),
    created_at_ms: z.int(),
  })
  .meta({ id: 'SandboxMessage' });

const sandboxPageSchema = z
  .object({
    messages: z.array(sandboxMessageSchema),
    next_before: z.uuid().nullable().meta({
      description: 'Pass as `before` for the next (older) page; null on the last page.',
    }),
  })
  .meta({ id: 'SandboxMessagePage' });

/** `GET /v2/sandbox/messages`: what the sandbox provider "delivered", to watch a demo arrive. */
export function sandboxRoutes(deps: { db: Db }): Route[] {
  const list = defineRoute({
    method: 'get',
    path: '/v2/sandbox/messages',
    operationId: 'listSandboxMessages',
    summary: 'Messages the sandbox provider delivered for the caller’s organization',
    description: 'Newest first, `limit` per page (default 50, at most 200).',
    tags: ['sandbox'],
    auth: 'api-key',
    request: {
      query: z.strictObject({
        send_id: z.uuid().optional().meta({ description: 'Only what this send delivered.' }),
        limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT),
        before: z.uuid().optional().meta({ description: 'A page’s `next_before`.' }),
      }),
    },
    responses: {
      200: { description: 'A page of messages, newest first.', schema: sandboxPageSchema },
      404: { description: 'No such send in the organization.', schema: errorResponseSchema },
    },
  }).handle(async ({ query, principal }) => {
    const organizationId = principal.organizationId;
    if (
      query.send_id !== undefined &&
      !(await sendExists(deps.db, organizationId, query.send_id))
    ) {
      throw AppError.of('not_found', `send ${query.send_id} not found`, { send_id: query.send_id });
    }
    // One more than asked tells whether an older page exists.
    const rows = await listSandboxDeliveries(deps.db, {
      organizationId,
      sendId: query.send_id,
      before: query.before,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    return {
      status: 200,
      body: {
        messages: page.map((row) => ({
          id: row.id,
          send_id: row.send_id,
          recipient_send_id: row.delivery_id,
          group_id: row.group_id,
          session_id: row.sender_id,
          channel: row.channel,
          recipient: row.recipient,
          content: row.content,
          created_at_ms: row.created_at.getTime(),
        })),
        next_before: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
      },
    };
  });
  return [list];
}
