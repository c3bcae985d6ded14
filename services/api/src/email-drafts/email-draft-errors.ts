import { findEmailDraft, type EmailDraftRecord, type Executor } from '@outbound/db';
import { AppError } from '../errors/app-error.ts';

/** 404 for a draft that is not the organization's (or does not exist). */
export function emailDraftNotFound(uid: string): AppError {
  return AppError.of('not_found', `email draft ${uid} not found`, { uid });
}

/** The draft as it stands, or 404. */
export async function mustFindEmailDraft(
  db: Executor,
  organizationId: string,
  uid: string,
): Promise<EmailDraftRecord> {
  const draft = await findEmailDraft(db, organizationId, uid);
  if (draft === undefined) throw emailDraftNotFound(uid);
  return draft;
}

/**
 * 409 for a draft that can no longer change or be sent, saying why: it was handed to a send
 * (which is `sending`, `sent`, `failed` or `canceled`), or it came due and could not be sent.
 */
export async function emailDraftNotEditable(
  db: Executor,
  organizationId: string,
  uid: string,
  attempted: string,
): Promise<AppError> {
  const draft = await mustFindEmailDraft(db, organizationId, uid);
  const why =
    draft.send_id === null
      ? `it failed when it came due (${draft.error?.message ?? 'no reason recorded'})`
      : `it was dispatched as send ${draft.send_id}, which is ${draft.status}`;
  return AppError.of(
    'conflict',
    `email draft ${uid} cannot be ${attempted}: ${why}; only a draft not yet dispatched can be`,
    { uid, status: draft.status, send_id: draft.send_id },
  );
}
