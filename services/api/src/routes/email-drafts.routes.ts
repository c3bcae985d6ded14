import { listEmailDrafts, type Db } from '@outbound/db';
import type { Config } from '@outbound/config';
import { type Queues, wakePollerAt } from '@outbound/queue';
import {
  decodeEmailDraftCursor,
  encodeEmailDraftCursor,
} from '../email-drafts/email-draft-cursor.ts';
import { mustFindEmailDraft } from '../email-drafts/email-draft-errors.ts';
import { toEmailDraftResponse } from '../email-drafts/email-draft-view.ts';
import { removeEmailDraft } from '../email-drafts/delete-email-draft.ts';
import { saveEmailDraft } from '../email-drafts/save-email-draft.ts';
import { sendEmailDraft } from '../email-drafts/send-email-draft.ts';
import { redisAfterCommit } from '../sends/redis-after-commit.ts';
import { errorResponseSchema } from '../errors/error-response.schema.ts';
import { defineRoute, type Route } from '../routing/route.ts';
import {
  emailDraftListQuerySchema,
  emailDraftListSchema,
  emailDraftParamsSchema,
  emailDraftRequestSchema,
  emailDraftSchema,
} from './email-drafts.schema.ts';
import { paginationOf } from '../routing/pagination.ts';

export { emailDraftsJsonParser } from '../email-drafts/email-drafts-json.ts';

/** Where the email drafts routes live; the JSON parser with the larger limit is mounted here. */
export const EMAIL_DRAFTS_PATH = '/api/email/drafts';

export interface EmailDraftsRoutesDeps {
  db: Db;
  queues: Queues;
  config: Pick<Config, 'EMAIL_MAX_ATTACHMENT_BYTES'>;
}

const TAGS = ['email drafts'];

const SAVE_DESCRIPTION = `Saves an email as a draft, to edit or schedule later.

- **Create**: omit \`uid\`; \`from_account_id\` is required (an email account of the
  organization: 404 when it is not one, 422 when it is another channel's, receiving, or has no
  address). Answers 201.
- **Update**: give \`uid\` and only the fields to change; \`null\` clears a field, and
  \`to\`/\`cc\`/\`bcc\`/\`attachments\` are replaced whole. Answers 200. A draft already
  dispatched (or failed when due) cannot change: 409 saying why.

Every address is checked (400 naming it, e.g. path \`to.1\`); \`subject\` may not contain line
breaks. Attachments are base64 (\`data_base64\`); a bad encoding or an unsafe filename is a 400,
a decoded total above \`EMAIL_MAX_ATTACHMENT_BYTES\` a 413. Unknown fields are rejected (400
naming them). Nothing is written when the request is refused.

With \`planned_send_at\` the draft is \`scheduled\`: the dispatcher sends it once that time has
come (a past time: at its next poll). Moving the time reschedules it; \`null\` unschedules it.`;

const saveErrors = {
  404: {
    description: 'The draft (`uid`) or the account (`from_account_id`) is not the organization’s.',
    schema: errorResponseSchema,
  },
  409: { description: 'The draft was already dispatched.', schema: errorResponseSchema },
  413: {
    description: 'The attachments exceed `EMAIL_MAX_ATTACHMENT_BYTES` once decoded.',
    schema: errorResponseSchema,
  },
  422: {
    description: 'The account is not an email account that can send.',
    schema: errorResponseSchema,
  },
} as const;

const notFound = {
  404: { description: 'No such draft in the organization.', schema: errorResponseSchema },
} as const;

/** The email drafts contract: `/api/email/drafts` and `/api/email/drafts/{uid}`. */
export function emailDraftsRoutes(deps: EmailDraftsRoutesDeps): Route[] {
  const save = defineRoute({
    method: 'post',
    path: EMAIL_DRAFTS_PATH,
    operationId: 'saveEmailDraft',
    summary: 'Create or update an outbound email draft',
    description: SAVE_DESCRIPTION,
    tags: TAGS,
    auth: 'api-key',
    request: { body: emailDraftRequestSchema },
    responses: {
      200: { description: 'Draft updated.', schema: emailDraftSchema },
      201: { description: 'Draft created.', schema: emailDraftSchema },
      ...saveErrors,
    },
  }).handle(async ({ body, principal }, { log }) => {
    const { created, draft } = await saveEmailDraft(deps, principal.organizationId, body);
    const planned = draft.planned_send_at;
    if (planned !== null && draft.send_id === null) {
      await redisAfterCommit(
        () => wakePollerAt(deps.queues, planned, `email-draft-${draft.id}`),
        log,
        {
          message: 'poller wake-up failed; the draft goes out at the next regular poll',
          fields: { draft_id: draft.id },
        },
      );
    }
    return { status: created ? 201 : 200, body: toEmailDraftResponse(draft) };
  });

  const list = defineRoute({
    method: 'get',
    path: EMAIL_DRAFTS_PATH,
    operationId: 'listEmailDrafts',
    summary: 'The organization’s email drafts, newest first',
    description:
      'Ordered by `created_at` then `uid`, both descending. Filter by `status`, and by ' +
      '`context_type` and/or `context_id`. Pass `next_cursor` as `cursor` for the next page, ' +
      'with the same filters; a cursor that is garbled or from another listing is a 400.',
    tags: TAGS,
    auth: 'api-key',
    request: { query: emailDraftListQuerySchema },
    responses: { 200: { description: 'One page of drafts.', schema: emailDraftListSchema } },
  }).handle(async ({ query, principal }) => {
    const after =
      query.cursor === undefined ? undefined : decodeEmailDraftCursor(query.cursor, query);
    const page = await listEmailDrafts(deps.db, {
      organizationId: principal.organizationId,
      limit: query.limit,
      ...(query.status === undefined ? {} : { status: query.status }),
      ...(query.context_type === undefined ? {} : { contextType: query.context_type }),
      ...(query.context_id === undefined ? {} : { contextId: query.context_id }),
      ...(after === undefined ? {} : { after }),
    });
    return {
      status: 200,
      body: {
        data: page.drafts.map(toEmailDraftResponse),
        pagination: paginationOf(
          query,
          page.next === undefined ? undefined : encodeEmailDraftCursor(page.next, query),
        ),
      },
    };
  });

  const get = defineRoute({
    method: 'get',
    path: `${EMAIL_DRAFTS_PATH}/{uid}`,
    operationId: 'getEmailDraft',
    summary: 'One email draft, with its delivery result once dispatched',
    tags: TAGS,
    auth: 'api-key',
    request: { params: emailDraftParamsSchema },
    responses: { 200: { description: 'The draft.', schema: emailDraftSchema }, ...notFound },
  }).handle(async ({ params, principal }) => ({
    status: 200,
    body: toEmailDraftResponse(
      await mustFindEmailDraft(deps.db, principal.organizationId, params.uid),
    ),
  }));

  const remove = defineRoute({
    method: 'delete',
    path: `${EMAIL_DRAFTS_PATH}/{uid}`,
    operationId: 'deleteEmailDraft',
    summary: 'Delete an email draft and its attachments',
    tags: TAGS,
    auth: 'api-key',
    request: { params: emailDraftParamsSchema },
    responses: {
      204: { description: 'Deleted.' },
      ...notFound,
      409: { description: 'The draft is being sent.', schema: errorResponseSchema },
    },
  }).handle(async ({ params, principal }) => {
    await removeEmailDraft(deps.db, principal.organizationId, params.uid);
    return { status: 204 };
  });

  const send = defineRoute({
    method: 'post',
    path: `${EMAIL_DRAFTS_PATH}/{uid}/send`,
    operationId: 'sendEmailDraft',
    summary: 'Send an email draft now',
    description:
      'Turns the draft into a send with ONE delivery (one provider call carries To, Cc and ' +
      'Bcc), committed before the answer; delivery happens afterwards. Answers 202 with the ' +
      'draft, now `sending`. A scheduled draft is sent now as well.',
    tags: TAGS,
    auth: 'api-key',
    request: { params: emailDraftParamsSchema },
    responses: {
      202: { description: 'Draft dispatched.', schema: emailDraftSchema },
      ...notFound,
      409: { description: 'The draft was already dispatched.', schema: errorResponseSchema },
      422: {
        description: 'The draft has no To address or neither subject nor body (`details.missing`).',
        schema: errorResponseSchema,
      },
    },
  }).handle(async ({ params, principal }, { log, requestId }) => ({
    status: 202,
    body: toEmailDraftResponse(
      await sendEmailDraft(deps, { principal, uid: params.uid, requestId, log }),
    ),
  }));

  return [save, list, get, remove, send];
}
