import {
  createEmailDraft,
  emailDraftIsEditable,
  lockEmailDraft,
  updateEmailDraft,
  type Db,
  type EmailDraftRecord,
} from '@outbound/db';
import type { Config } from '@outbound/config';
import type { EmailDraftRequest } from '../routes/email-drafts.schema.ts';
import { validationFailed } from '../routing/validate-input.ts';
import { checkEmailAccount } from './email-account.ts';
import { emailDraftChanges } from './email-draft-changes.ts';
import {
  emailDraftNotEditable,
  emailDraftNotFound,
  mustFindEmailDraft,
} from './email-draft-errors.ts';

export interface EmailDraftDeps {
  db: Db;
  config: Pick<Config, 'EMAIL_MAX_ATTACHMENT_BYTES'>;
}

/**
 * `POST /api/email/drafts`. Without `uid`, stores a new draft (the account checked by
 * `checkEmailAccount`). With it, changes only the given fields of one of the organization's
 * drafts (404 otherwise), under the draft's row lock so that the poller cannot dispatch it
 * meanwhile, and only while it is not dispatched (409 otherwise). 413 for attachments over
 * the limit comes first, and nothing is written on any error.
 */
export async function saveEmailDraft(
  deps: EmailDraftDeps,
  organizationId: string,
  body: EmailDraftRequest,
): Promise<{ created: boolean; draft: EmailDraftRecord }> {
  const changes = emailDraftChanges(body, deps.config.EMAIL_MAX_ATTACHMENT_BYTES);
  const uid = body.uid;
  if (uid === undefined) {
    const fromAccountId = body.from_account_id;
    if (fromAccountId === undefined) {
      // The request schema already refuses this; kept so the types need no assertion.
      throw validationFailed([
        { location: 'body', path: 'from_account_id', code: 'custom', message: 'required' },
      ]);
    }
    await checkEmailAccount(deps.db, organizationId, fromAccountId);
    const id = await createEmailDraft(deps.db, organizationId, { ...changes, fromAccountId });
    return { created: true, draft: await mustFindEmailDraft(deps.db, organizationId, id) };
  }
  await deps.db.transaction().execute(async (trx) => {
    const locked = await lockEmailDraft(trx, organizationId, uid);
    if (locked === undefined) throw emailDraftNotFound(uid);
    if (!emailDraftIsEditable(locked)) {
      throw await emailDraftNotEditable(trx, organizationId, uid, 'changed');
    }
    if (changes.fromAccountId !== undefined) {
      await checkEmailAccount(trx, organizationId, changes.fromAccountId);
    }
    await updateEmailDraft(trx, locked, changes);
  });
  return { created: false, draft: await mustFindEmailDraft(deps.db, organizationId, uid) };
}
