import {
  dispatchEmailDraft,
  emailDraftIsEditable,
  lockEmailDraft,
  type Db,
  type EmailDraftRecord,
} from '@outbound/db';
import type { Logger } from '@outbound/config';
import { enqueueDeliveries, type Queues } from '@outbound/queue';
import type { Principal } from '../auth/principal.ts';
import { AppError } from '../errors/app-error.ts';
import { redisAfterCommit } from '../sends/redis-after-commit.ts';
import {
  emailDraftNotEditable,
  emailDraftNotFound,
  mustFindEmailDraft,
} from './email-draft-errors.ts';

export interface SendEmailDraftDeps {
  db: Db;
  queues: Queues;
}

export interface SendEmailDraftInput {
  principal: Principal;
  uid: string;
  requestId: string;
  log: Logger;
}

/**
 * `POST /api/email/drafts/{uid}/send`: in ONE transaction, under the draft's row lock, the
 * draft becomes an email send with one queued delivery and is linked to it
 * (`dispatchEmailDraft`, the same code the due-work poller runs); after commit the delivery's
 * job is enqueued. 404 for another organization's draft; 409 once it was dispatched or failed;
 * 422 naming what is missing (`details.missing`) when it has no To address or neither subject
 * nor body, and then nothing is written. A Redis failure after commit is logged, not answered:
 * the sweeper enqueues the delivery later (DESIGN §4.1).
 */
export async function sendEmailDraft(
  deps: SendEmailDraftDeps,
  input: SendEmailDraftInput,
): Promise<EmailDraftRecord> {
  const { organizationId, actorUserId } = input.principal;
  const { uid } = input;
  const dispatched = await deps.db.transaction().execute(async (trx) => {
    const locked = await lockEmailDraft(trx, organizationId, uid);
    if (locked === undefined) throw emailDraftNotFound(uid);
    if (!emailDraftIsEditable(locked)) {
      throw await emailDraftNotEditable(trx, organizationId, uid, 'sent again');
    }
    const result = await dispatchEmailDraft(trx, locked, {
      plannedAt: new Date(),
      actorUserId,
      requestId: input.requestId,
    });
    if (result.outcome === 'unsendable') {
      throw AppError.of(
        'unprocessable',
        `email draft ${uid} cannot be sent: ${result.problems.map((problem) => problem.message).join('; ')}`,
        { uid, missing: result.problems.map((problem) => problem.field) },
      );
    }
    return result;
  });

  const jobs = dispatched.deliveries.map((delivery) => ({
    delivery_id: delivery.id,
    organization_id: delivery.organization_id,
  }));
  await redisAfterCommit(() => enqueueDeliveries(deps.queues, jobs), input.log, {
    message: 'enqueue after commit failed; the sweeper will enqueue this delivery',
    fields: { send_id: dispatched.sendId, email_draft_id: uid },
  });
  return mustFindEmailDraft(deps.db, organizationId, uid);
}
