import { findGroupsInSession, findSender, type Db, type SessionGroup } from '@outbound/db';
import { AppError } from '../errors/app-error.ts';
import type { UploadedFile } from '../media/multipart.ts';
import { validationFailed } from '../routing/validate-input.ts';
import type { SendRequest } from '../routes/sends.schema.ts';

/** Text, media or files, within the count limit. */
export function checkContent(
  body: SendRequest,
  files: readonly UploadedFile[],
  maxItems: number,
): void {
  const mediaCount = (body.media?.length ?? 0) + files.length;
  if (mediaCount > maxItems) {
    throw validationFailed([
      {
        location: 'body',
        path: 'media',
        code: 'too_big',
        message: `media and files together are at most ${maxItems}; got ${mediaCount}`,
      },
    ]);
  }
  if (mediaCount === 0 && (body.text === undefined || body.text.trim() === '')) {
    throw validationFailed([
      {
        location: 'body',
        path: 'text',
        code: 'required',
        message: 'text is required when there is no media and no files',
      },
    ]);
  }
}

/**
 * The session must be a WORKING sending WhatsApp session of the organization, and every group
 * present in it. Returns the groups in the order asked.
 */
export async function checkSessionAndGroups(
  db: Db,
  organizationId: string,
  body: SendRequest,
): Promise<SessionGroup[]> {
  const session = await findSender(db, organizationId, body.session_id);
  if (session === undefined || session.channel !== 'whatsapp') {
    throw AppError.of('not_found', `session ${body.session_id} not found`, {
      session_id: body.session_id,
    });
  }
  if (session.role === 'receiving') {
    throw AppError.of(
      'conflict',
      `session ${session.id} is a receiving session; outbound sends need a sending session`,
      { session_id: session.id, role: session.role },
    );
  }
  if (session.status !== 'WORKING') {
    throw AppError.of(
      'conflict',
      `session ${session.id} is ${session.status}; sends need a WORKING session`,
      { session_id: session.id, status: session.status },
    );
  }
  const groups = await findGroupsInSession(db, {
    organizationId,
    sessionId: session.id,
    groupIds: body.group_ids,
  });
  if (groups.length !== body.group_ids.length) {
    const present = new Set(groups.map((group) => group.id));
    const missing = body.group_ids.filter((id) => !present.has(id));
    throw AppError.of(
      'unprocessable',
      `groups not present in session ${session.id}: ${missing.join(', ')}`,
      { session_id: session.id, group_ids: missing },
    );
  }
  return groups;
}
