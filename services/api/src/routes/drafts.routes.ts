import {
  createWhatsappDraft,
  deleteWhatsappDraft,
  findWhatsappDraft,
  listWhatsappDrafts,
  updateWhatsappDraft,
  type WhatsappDraftOwner,
} from '@outbound/db';
import type { Principal } from '../auth/principal.ts';
import {
  checkDraftSession,
  draftContent,
  toDraftResponse,
  type DraftDeps,
} from '../drafts/draft-content.ts';
import { decodeDraftCursor, encodeDraftCursor } from '../drafts/draft-cursor.ts';
import { AppError } from '../errors/app-error.ts';
import { errorResponseSchema } from '../errors/error-response.schema.ts';
import { defineRoute, type Route } from '../routing/route.ts';
import {
  draftListQuerySchema,
  draftListSchema,
  draftParamsSchema,
  draftRequestSchema,
  draftSchema,
} from './drafts.schema.ts';
import { paginationOf } from '../routing/pagination.ts';

const TAGS = ['drafts'];
const MULTIPART_REFUSED = {
  'multipart/form-data':
    'drafts take already-uploaded media URLs; multipart files are not accepted',
};

const SAVE_DESCRIPTION = `Drafts are private to the actor whose API key saves them: another
actor of the organization, like another organization, gets 404 for them.

The body is JSON only; \`multipart/form-data\` is refused with 415 (drafts keep
already-uploaded media URLs and never fetch them). Unknown fields are rejected (400
\`validation_failed\` naming them). \`schedule\` is checked for shape and stored as given;
saving a draft sends and schedules nothing. Absent \`group_ids\`, \`text\` and \`media\` are
saved empty.`;

const saveErrors = {
  404: {
    description: 'The session (or, for a replace, the draft) is not one of yours.',
    schema: errorResponseSchema,
  },
  409: { description: 'The session is a receiving session.', schema: errorResponseSchema },
  422: {
    description:
      'A group is not present in the session (`details.group_ids`), or an Outbound media URL ' +
      'has a bad signature, names no media object of yours or declares another type ' +
      '(`details.problems`).',
    schema: errorResponseSchema,
  },
} as const;

const draftNotFound = {
  404: { description: 'No such draft of yours.', schema: errorResponseSchema },
} as const;

function ownerOf(principal: Principal): WhatsappDraftOwner {
  return { organizationId: principal.organizationId, actorUserId: principal.actorUserId };
}

function notFound(draftId: string): AppError {
  return AppError.of('not_found', `draft ${draftId} not found`, { draft_id: draftId });
}

/** The WhatsApp drafts contract: `/v2/outbound/drafts` and `/v2/outbound/drafts/{draft_id}`. */
export function draftsRoutes(deps: DraftDeps): Route[] {
  const create = defineRoute({
    method: 'post',
    path: '/v2/outbound/drafts',
    operationId: 'createWhatsappDraft',
    summary: "Save the caller's outbound send draft",
    description: SAVE_DESCRIPTION,
    tags: TAGS,
    auth: 'api-key',
    request: { body: draftRequestSchema, refusedBodyTypes: MULTIPART_REFUSED },
    responses: { 201: { description: 'Draft saved.', schema: draftSchema }, ...saveErrors },
  }).handle(async ({ body, principal }) => {
    const content = await draftContent(deps, principal.organizationId, body);
    const draft = await createWhatsappDraft(deps.db, ownerOf(principal), content);
    return { status: 201, body: toDraftResponse(draft) };
  });

  const list = defineRoute({
    method: 'get',
    path: '/v2/outbound/drafts',
    operationId: 'listWhatsappDrafts',
    summary: "The caller's own drafts, most recently saved first",
    description:
      'Ordered by `updated_at_ms` then `id`, both descending; a draft saved while paging ' +
      'moves to the front. Pass `next_cursor` as `cursor` for the next page, with the same ' +
      '`session_id`; a cursor that is garbled or from another listing is a 400.',
    tags: TAGS,
    auth: 'api-key',
    request: { query: draftListQuerySchema },
    responses: {
      200: { description: 'One page of drafts.', schema: draftListSchema },
      404: { description: 'The session is not one of yours.', schema: errorResponseSchema },
    },
  }).handle(async ({ query, principal }) => {
    const after =
      query.cursor === undefined ? undefined : decodeDraftCursor(query.cursor, query.session_id);
    if (query.session_id !== undefined) {
      await checkDraftSession(deps.db, principal.organizationId, query.session_id, {
        allowReceiving: true,
      });
    }
    const page = await listWhatsappDrafts(deps.db, {
      owner: ownerOf(principal),
      limit: query.limit,
      ...(query.session_id === undefined ? {} : { sessionId: query.session_id }),
      ...(after === undefined ? {} : { after }),
    });
    return {
      status: 200,
      body: {
        data: page.drafts.map(toDraftResponse),
        pagination: paginationOf(
          query,
          page.next === undefined ? undefined : encodeDraftCursor(page.next, query.session_id),
        ),
      },
    };
  });

  const get = defineRoute({
    method: 'get',
    path: '/v2/outbound/drafts/{draft_id}',
    operationId: 'getWhatsappDraft',
    summary: 'One of the caller’s drafts',
    tags: TAGS,
    auth: 'api-key',
    request: { params: draftParamsSchema },
    responses: { 200: { description: 'The draft.', schema: draftSchema }, ...draftNotFound },
  }).handle(async ({ params, principal }) => {
    const draft = await findWhatsappDraft(deps.db, ownerOf(principal), params.draft_id);
    if (draft === undefined) throw notFound(params.draft_id);
    return { status: 200, body: toDraftResponse(draft) };
  });

  const replace = defineRoute({
    method: 'put',
    path: '/v2/outbound/drafts/{draft_id}',
    operationId: 'replaceWhatsappDraft',
    summary: 'Replace the content of one of the caller’s drafts',
    description:
      `The body is the whole draft, as for a save: absent fields become empty. ` +
      '`updated_at_ms` moves; `created_at_ms` stays.\n\n' +
      SAVE_DESCRIPTION,
    tags: TAGS,
    auth: 'api-key',
    request: {
      params: draftParamsSchema,
      body: draftRequestSchema,
      refusedBodyTypes: MULTIPART_REFUSED,
    },
    responses: { 200: { description: 'Draft saved.', schema: draftSchema }, ...saveErrors },
  }).handle(async ({ params, body, principal }) => {
    const owner = ownerOf(principal);
    // A missing draft answers 404 before anything about the new content.
    if ((await findWhatsappDraft(deps.db, owner, params.draft_id)) === undefined) {
      throw notFound(params.draft_id);
    }
    const content = await draftContent(deps, principal.organizationId, body);
    const draft = await updateWhatsappDraft(deps.db, owner, params.draft_id, content);
    if (draft === undefined) throw notFound(params.draft_id);
    return { status: 200, body: toDraftResponse(draft) };
  });

  const remove = defineRoute({
    method: 'delete',
    path: '/v2/outbound/drafts/{draft_id}',
    operationId: 'deleteWhatsappDraft',
    summary: 'Delete one of the caller’s drafts',
    tags: TAGS,
    auth: 'api-key',
    request: { params: draftParamsSchema },
    responses: { 204: { description: 'Deleted.' }, ...draftNotFound },
  }).handle(async ({ params, principal }) => {
    if (!(await deleteWhatsappDraft(deps.db, ownerOf(principal), params.draft_id))) {
      throw notFound(params.draft_id);
    }
    return { status: 204 };
  });

  return [create, list, get, replace, remove];
}
