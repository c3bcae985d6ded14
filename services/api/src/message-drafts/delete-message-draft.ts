import { deleteMessageDraft, lockMessageDraft, type Db } from '@outbound/db';
import { AppError } from '../errors/app-error.ts';
import {
  messageDraftNotFound,
  messageDraftUuid,
  settledMessageDraft,
  unsentMessageDraft,
} from './message-draft-lookup.ts';

/**
 * `DELETE …/message-drafts/{draft_id}`: deletes one of the organization's drafts under its row
 * lock. 404 as for the detail route (with the conversation's route once promoted); 400 while
 * its delivery is `queued` or `sending`. A failed draft can be deleted; its send stays.
 */
export async function removeMessageDraft(
  db: Db,
  organizationId: string,
  draftId: string,
): Promise<void> {
  const id = messageDraftUuid(draftId);
  await db.transaction().execute(async (trx) => {
    if ((await lockMessageDraft(trx, organizationId, id)) === undefined) {
      throw messageDraftNotFound(draftId);
    }
    const draft = unsentMessageDraft(draftId, await settledMessageDraft(trx, organizationId, id));
    if (draft.status === 'queued' || draft.status === 'sending') {
      throw AppError.of(
        'bad_request',
        `message draft ${draftId} is ${draft.status === 'queued' ? 'queued for delivery' : 'being sent'}; ` +
          'it cannot be deleted until its delivery has finished',
        { draft_id: draftId, status: draft.status },
      );
    }
    await deleteMessageDraft(trx, organizationId, id);
  });
}
