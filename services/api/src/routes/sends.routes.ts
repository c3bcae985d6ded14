import { z } from 'zod';
import { errorResponseSchema } from '../errors/error-response.schema.ts';
import { defineRoute, type Route } from '../routing/route.ts';
import { createWhatsappSend, type CreateWhatsappSendDeps } from '../sends/create-whatsapp-send.ts';
import { getSendStatus } from '../sends/get-send-status.ts';
import { listSendsPage } from '../sends/list-sends.ts';
import { sendForm, uploadedFiles } from './send-form.middleware.ts';
import {
  sendCommandAcceptedSchema,
  sendFormSchema,
  sendPageSchema,
  sendRequestSchema,
  sendStatusResponseSchema,
} from './sends.schema.ts';

/** Set on a replayed answer, as payment APIs do, so a client can tell without reading it. */
const REPLAYED_HEADER = 'Idempotent-Replayed';

const POST_DESCRIPTION = `Sends one message (text, images or both) to every group, now or on a schedule.

The body is JSON, or \`multipart/form-data\` with the same fields plus image files under
\`files\`. Unknown fields are rejected (400 \`validation_failed\` naming them), in JSON and forms
alike.

Answers **202 Accepted** once the send and one queued delivery per group are committed; delivery
happens afterwards (read it with \`GET /v2/outbound/sends/{send_id}\`).

With \`schedule\`, nothing is sent now: the answer carries \`schedule\` (its id, \`workflow_id\`,
first due time) instead of \`send\`, and each occurrence becomes a send when due (read them
with \`GET /v2/outbound/schedules/{schedule_id}\` or \`GET /v2/outbound/sends?schedule_id=\`).
Retrying with the same
\`idempotency_key\` and the same request answers 202 again with \`status: "duplicate_accepted"\`
and the original ids, creating nothing (also while the first request is still running: it waits
for it); the same key with a different request is a 409 \`idempotency_key_reused\`. Keys are kept
at least 24 hours.`;

const DEFAULT_PAGE = 25;
const MAX_PAGE = 100;

/** `POST /v2/outbound/sends`, `GET /v2/outbound/sends/{send_id}` and `GET /v2/outbound/sends`. */
export function sendsRoutes(deps: CreateWhatsappSendDeps): Route[] {
  const create = defineRoute({
    method: 'post',
    path: '/v2/outbound/sends',
    operationId: 'createWhatsappSend',
    summary: 'Send a WhatsApp message to groups, now or scheduled',
    description: POST_DESCRIPTION,
    tags: ['sends'],
    auth: 'api-key',
    middleware: [
      sendForm({
        maxFileBytes: deps.config.MEDIA_MAX_BYTES,
        maxFiles: deps.config.MEDIA_MAX_FILES,
      }),
    ],
    request: { body: sendRequestSchema, form: sendFormSchema },
    responses: {
      202: {
        description: 'Send command accepted (or, for a repeated key, replayed).',
        schema: sendCommandAcceptedSchema,
      },
      404: {
        description: 'The session is not one of the organization.',
        schema: errorResponseSchema,
      },
      409: {
        description:
          'The session is receiving or not WORKING (`conflict`), or the idempotency key was used ' +
          'for a different request (`idempotency_key_reused`).',
        schema: errorResponseSchema,
      },
      422: {
        description:
          'A group is not present in the session (`details.group_ids`), or a media item could ' +
          'not be used (`unprocessable`).',
        schema: errorResponseSchema,
      },
    },
  }).handle(async ({ body, principal }, { res, log, requestId }) => {
    const answer = await createWhatsappSend(deps, {
      principal,
      requestId,
      body,
      files: uploadedFiles(res),
      log,
    });
    if (!answer.replayed) return { status: 202, body: answer.body };
    return {
      status: 202,
      body: { ...answer.body, status: 'duplicate_accepted', request_id: requestId },
      headers: { [REPLAYED_HEADER]: 'true' },
    };
  });

  const get = defineRoute({
    method: 'get',
    path: '/v2/outbound/sends/{send_id}',
    operationId: 'getWhatsappSend',
    summary: 'A send and every recipient’s current result',
    tags: ['sends'],
    auth: 'api-key',
    request: { params: z.object({ send_id: z.uuid() }) },
    responses: {
      200: { description: 'The send now.', schema: sendStatusResponseSchema },
      404: { description: 'No such send in the organization.', schema: errorResponseSchema },
    },
  }).handle(async ({ params, principal }, { requestId }) => ({
    status: 200,
    body: {
      request_id: requestId,
      send: await getSendStatus(deps.db, principal.organizationId, params.send_id),
    },
  }));

  const list = defineRoute({
    method: 'get',
    path: '/v2/outbound/sends',
    operationId: 'listWhatsappSends',
    summary: 'The organization’s sends, newest first, optionally one schedule’s',
    description:
      '`limit` per page (default 25, at most 100); pass a page’s `next_cursor` as `cursor` ' +
      'for the next one. A cursor that was not given out is a 400.',
    tags: ['sends'],
    auth: 'api-key',
    request: {
      query: z.strictObject({
        schedule_id: z
          .uuid()
          .optional()
          .meta({ description: 'Only the occurrences of this schedule.' }),
        limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
        cursor: z.string().min(1).max(500).optional().meta({
          description: 'A page’s `next_cursor`, unchanged.',
        }),
      }),
    },
    responses: {
      200: { description: 'A page of sends.', schema: sendPageSchema },
      404: { description: 'No such schedule in the organization.', schema: errorResponseSchema },
    },
  }).handle(async ({ query, principal }, { requestId }) => ({
    status: 200,
    body: {
      request_id: requestId,
      ...(await listSendsPage(deps.db, principal.organizationId, query)),
    },
  }));

  return [create, get, list];
}
