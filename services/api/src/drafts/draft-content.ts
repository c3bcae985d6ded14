import {
  findGroupsInSession,
  findSender,
  type Db,
  type WhatsappDraftContent,
  type WhatsappDraftRecord,
} from '@outbound/db';
import { AppError } from '../errors/app-error.ts';
import type { DraftRequest, DraftResponse } from '../routes/drafts.schema.ts';
import { resolveDraftMedia, type DraftMediaConfig } from './draft-media.ts';

export interface DraftDeps {
  db: Db;
  config: DraftMediaConfig;
}

/**
 * A WhatsApp session of the organization that drafts may belong to: any sending session,
 * whatever its status (a draft sends nothing, and a stopped session may work again by the time
 * it is sent). 404 when it is not one of the organization's WhatsApp sessions; 409 when it
 * is a receiving session, as for sends.
 */
export async function checkDraftSession(
  db: Db,
  organizationId: string,
  sessionId: string,
  options: { allowReceiving?: boolean } = {},
): Promise<void> {
  const session = await findSender(db, organizationId, sessionId);
  if (session === undefined || session.channel !== 'whatsapp') {
    throw AppError.of('not_found', `session ${sessionId} not found`, { session_id: sessionId });
  }
  if (session.role === 'receiving' && options.allowReceiving !== true) {
    throw AppError.of(
      'conflict',
      `session ${session.id} is a receiving session; drafts need a sending session`,
      { session_id: session.id, role: session.role },
    );
  }
}

/**
 * What a save stores, once the request has passed every check: the session (see
 * `checkDraftSession`), every group present in it (422 `unprocessable` listing the others in
 * `details.group_ids`), and the media (see `resolveDraftMedia`). Checks in that order and
 * writes nothing.
 */
export async function draftContent(
  deps: DraftDeps,
  organizationId: string,
  body: DraftRequest,
): Promise<WhatsappDraftContent> {
  await checkDraftSession(deps.db, organizationId, body.session_id);
  const groupIds = body.group_ids ?? [];
  const groups = await findGroupsInSession(deps.db, {
    organizationId,
    sessionId: body.session_id,
    groupIds,
  });
  if (groups.length !== groupIds.length) {
    const present = new Set(groups.map((group) => group.id));
    const missing = groupIds.filter((id) => !present.has(id));
    throw AppError.of(
      'unprocessable',
      `groups not present in session ${body.session_id}: ${missing.join(', ')}`,
      { session_id: body.session_id, group_ids: missing },
    );
  }
  return {
    sessionId: body.session_id,
    groupIds,
    text: body.text ?? '',
    media: await resolveDraftMedia(deps, organizationId, body.media ?? []),
    schedule: body.schedule ?? null,
  };
}

/** A stored draft as the API answers it; `schedule` is left out when there is none. */
export function toDraftResponse(draft: WhatsappDraftRecord): DraftResponse {
  return {
    id: draft.id,
    actor_user_id: draft.actor_user_id,
    session_id: draft.session_id,
    session_name: draft.session_name,
    session_label: draft.session_label,
    group_ids: draft.group_ids,
    text: draft.text,
    media: draft.media.map(({ media_object_id: _, ...item }) => item),
    created_at_ms: draft.created_at.getTime(),
    updated_at_ms: draft.updated_at.getTime(),
    ...(draft.schedule === null ? {} : { schedule: draft.schedule }),
  };
}
