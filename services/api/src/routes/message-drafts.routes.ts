import { listMessageDrafts, type Db } from '@outbound/db';
import type { Queues } from '@outbound/queue';
import { errorResponseSchema } from '../errors/error-response.schema.ts';
import { createMessageDraft } from '../message-drafts/create-message-draft.ts';
import { endBound, startBound } from '../message-drafts/date-bounds.ts';
import { removeMessageDraft } from '../message-drafts/delete-message-draft.ts';
import {
  decodeMessageDraftCursor,
  encodeMessageDraftCursor,
} from '../message-drafts/message-draft-cursor.ts';
import {
  messageDraftUuid,
  requireOwnOrganization,
  settledMessageDraft,
  unsentMessageDraft,
} from '../message-drafts/message-draft-lookup.ts';
import { messageDraftId, toMessageDraftResponse } from '../message-drafts/message-draft-view.ts';
import { defineRoute, type Route } from '../routing/route.ts';
import {
  messageDraftCreatedSchema,
  messageDraftListQuerySchema,
  messageDraftListSchema,
  messageDraftParamsSchema,
  messageDraftRequestSchema,
  messageDraftSchema,
  organizationParamsSchema,
} from './message-drafts.schema.ts';
import { paginationOf } from '../routing/pagination.ts';

/** Where the message drafts routes live; `{organization_id}` is the caller's organization. */
export const MESSAGE_DRAFTS_PATH = '/api/v2/organizations/{organization_id}/message-drafts';

export interface MessageDraftsRoutesDeps {
  db: Db;
  queues: Queues;
}

const TAGS = ['message drafts'];

const CREATE_DESCRIPTION = `Creates a first-contact message draft (\`email\` or \`text\`) in the
caller's organization, answering 201.

- \`subject\`, \`body_html\` or both; an email draft needs \`to_email\`, a text draft
  \`to_phone_number\` (E.164, or a US national number: stored in E.164) and no Cc or Bcc.
- The organization must have a working sender for the modality (an email account with an
  address for \`email\`, an SMS sender for \`text\`): 422 \`unprocessable\` with
  \`details.reason: "no_working_sender"\` otherwise, and nothing is created.
- \`autosend_draft: true\` queues it at once (\`scheduled_to_send: true\`, \`scheduled_send_at\`
  the queue time): one send with one delivery, committed before the answer.
- Otherwise it is saved for review; \`add_notification: true\` records a
  \`draft.ready_for_review\` notification. Both true is a 400.
- \`folder\` is normalised (\`Sales Follow-up\` → \`sales-follow-up\`), \`drafts\` by default.

Unknown fields are refused (400 naming them).`;

const LOOKUP_404 = {
  404: {
    description:
      'No such draft in the organization (or another organization in the path). A draft ' +
      'that was sent and promoted answers with `details.route` ' +
      '(`/v3/conversations/{conversation_id}`); a response draft’s id with ' +
      '`details.route` `/v3/response-drafts/{draft_id}`.',
    schema: errorResponseSchema,
  },
} as const;

const ORGANIZATION_404 = {
  404: {
    description: 'The path’s organization is not the caller’s.',
    schema: errorResponseSchema,
  },
} as const;

/** The reference's message drafts: create, list, detail and delete. */
export function messageDraftsRoutes(deps: MessageDraftsRoutesDeps): Route[] {
  const middleware = [requireOwnOrganization()];

  const create = defineRoute({
    method: 'post',
    path: MESSAGE_DRAFTS_PATH,
    operationId: 'createMessageDraft',
    summary: 'Create a message draft, saved for review or queued to send',
    description: CREATE_DESCRIPTION,
    tags: TAGS,
    auth: 'api-key',
    middleware,
    request: { params: organizationParamsSchema, body: messageDraftRequestSchema },
    responses: {
      201: { description: 'Draft created.', schema: messageDraftCreatedSchema },
      ...ORGANIZATION_404,
      422: {
        description: 'The organization has no working sender for the modality.',
        schema: errorResponseSchema,
      },
    },
  }).handle(async ({ body, principal }, { log, requestId }) => {
    const draft = await createMessageDraft(deps, { principal, body, requestId, log });
    return {
      status: 201,
      body: {
        draft_id: messageDraftId(draft),
        scheduled_to_send: draft.scheduled_send_at !== null,
        scheduled_send_at: draft.scheduled_send_at,
        folder: draft.folder,
      },
    };
  });

  const list = defineRoute({
    method: 'get',
    path: MESSAGE_DRAFTS_PATH,
    operationId: 'listMessageDrafts',
    summary: 'The organization’s unsent message drafts, newest first',
    description:
      'Ordered by `created_at` then id, both descending; sent (promoted) drafts are left ' +
      'out. `start_date` and `end_date` bound `created_at`, both inclusive. Pass ' +
      '`next_cursor` as `cursor` for the next page, with the same dates; a cursor that is ' +
      'garbled or from another listing is a 400.',
    tags: TAGS,
    auth: 'api-key',
    middleware,
    request: { params: organizationParamsSchema, query: messageDraftListQuerySchema },
    responses: {
      200: { description: 'One page of drafts.', schema: messageDraftListSchema },
      ...ORGANIZATION_404,
    },
  }).handle(async ({ query, principal }) => {
    const filters = {
      createdFrom: query.start_date === undefined ? undefined : startBound(query.start_date),
      createdTo: query.end_date === undefined ? undefined : endBound(query.end_date),
    };
    const after =
      query.cursor === undefined ? undefined : decodeMessageDraftCursor(query.cursor, filters);
    const page = await listMessageDrafts(deps.db, {
      organizationId: principal.organizationId,
      limit: query.limit,
      ...(filters.createdFrom === undefined ? {} : { createdFrom: filters.createdFrom }),
      ...(filters.createdTo === undefined ? {} : { createdTo: filters.createdTo }),
      ...(after === undefined ? {} : { after }),
    });
    return {
      status: 200,
      body: {
        data: page.drafts.map(toMessageDraftResponse),
        pagination: paginationOf(
          query,
          page.next === undefined ? undefined : encodeMessageDraftCursor(page.next, filters),
        ),
      },
    };
  });

  const get = defineRoute({
    method: 'get',
    path: `${MESSAGE_DRAFTS_PATH}/{draft_id}`,
    operationId: 'getMessageDraft',
    summary: 'One unsent message draft',
    tags: TAGS,
    auth: 'api-key',
    middleware,
    request: { params: messageDraftParamsSchema },
    responses: { 200: { description: 'The draft.', schema: messageDraftSchema }, ...LOOKUP_404 },
  }).handle(async ({ params, principal }) => {
    const id = messageDraftUuid(params.draft_id);
    const draft = await settledMessageDraft(deps.db, principal.organizationId, id);
    return {
      status: 200,
      body: toMessageDraftResponse(unsentMessageDraft(params.draft_id, draft)),
    };
  });

  const remove = defineRoute({
    method: 'delete',
    path: `${MESSAGE_DRAFTS_PATH}/{draft_id}`,
    operationId: 'deleteMessageDraft',
    summary: 'Delete an unsent message draft',
    description:
      'A saved or failed draft can be deleted; one whose delivery is queued or under way ' +
      'cannot (400).',
    tags: TAGS,
    auth: 'api-key',
    middleware,
    request: { params: messageDraftParamsSchema },
    responses: {
      204: { description: 'Deleted.' },
      400: {
        description: 'Invalid input, or the draft’s delivery is queued or under way.',
        schema: errorResponseSchema,
      },
      ...LOOKUP_404,
    },
  }).handle(async ({ params, principal }) => {
    await removeMessageDraft(deps.db, principal.organizationId, params.draft_id);
    return { status: 204 };
  });

  return [create, list, get, remove];
}
