import { deleteEmailDraft, findEmailDraft, lockEmailDraft, type Db } from '@outbound/db';
import { AppError } from '../errors/app-error.ts';
import { emailDraftNotFound } from './email-draft-errors.ts';

/**
 * `DELETE /api/email/drafts/{uid}`: deletes one of the organization's drafts and its
 * attachments (404 otherwise), under its row lock. 409 while its delivery is unfinished
 * (`sending`): the dispatcher still reads the attachments. A sent, failed or canceled draft
 * can be deleted; its send and delivery stay.
 */
export async function removeEmailDraft(db: Db, organizationId: string, uid: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if ((await lockEmailDraft(trx, organizationId, uid)) === undefined) {
      throw emailDraftNotFound(uid);
    }
    const draft = await findEmailDraft(trx, organizationId, uid);
    if (draft?.status === 'sending') {
      throw AppError.of(
        'conflict',
        `email draft ${uid} is being sent (send ${draft.send_id}); it can be deleted once its ` +
          'delivery is sent, failed or canceled',
        { uid, status: draft.status, send_id: draft.send_id },
      );
    }
    await deleteEmailDraft(trx, organizationId, uid);
  });
}
