import type { Logger } from '@outbound/config';
import {
  claimDueEmailDrafts,
  type Db,
  dispatchEmailDraft,
  type EmailDraftRow,
  markEmailDraftFailed,
  withSavepoint,
} from '@outbound/db';
import type { DueDelivery, DueSource } from './due-source.ts';

export interface EmailDraftsDueSourceDeps {
  db: Db;
  logger: Logger;
}

/** Why a due draft failed for good, as its `error` shows it. */
const NOT_SENDABLE = 'not_sendable';
const DISPATCH_FAILED = 'dispatch_failed';

/**
 * Email drafts as a `DueSource` of the due-work poller: a draft with a `planned_send_at` at or
 * before `now`, still `draft`/`scheduled` and without a send, is claimed (`FOR UPDATE SKIP
 * LOCKED`, most overdue first) and turned into its send with one delivery by
 * `dispatchEmailDraft` — the same code as `POST /api/email/drafts/{uid}/send` — in the claim's
 * transaction, planned at its `planned_send_at`. The poller reads the current value every
 * time, so saving a new time (or `null`) reschedules (or unschedules) the draft.
 *
 * A due draft that cannot be sent (no To address, no subject or body, an account without
 * address) becomes `failed` with that reason (`not_sendable`) instead of being claimed again
 * at every poll; so does one whose dispatch throws (`dispatch_failed`, logged), in a savepoint
 * that keeps the rest of the batch.
 */
export function createEmailDraftsDueSource(deps: EmailDraftsDueSourceDeps): DueSource {
  const { db, logger } = deps;

  async function dispatchOne(
    trx: Parameters<typeof dispatchEmailDraft>[0],
    draft: EmailDraftRow,
  ): Promise<DueDelivery[]> {
    const plannedAt = draft.planned_send_at ?? new Date();
    const result = await withSavepoint(trx, () => dispatchEmailDraft(trx, draft, { plannedAt }));
    if (result.outcome === 'dispatched') {
      logger.info(
        {
          email_draft_id: draft.id,
          organization_id: draft.organization_id,
          send_id: result.sendId,
        },
        'due email draft dispatched',
      );
      return result.deliveries.map((delivery) => ({
        delivery_id: delivery.id,
        organization_id: delivery.organization_id,
        due_at: delivery.due_at,
      }));
    }
    const message = `the draft came due but cannot be sent: ${result.problems
      .map((problem) => problem.message)
      .join('; ')}`;
    await markEmailDraftFailed(trx, draft, { code: NOT_SENDABLE, message });
    logger.info(
      {
        email_draft_id: draft.id,
        organization_id: draft.organization_id,
        missing: result.problems.map((problem) => problem.field),
      },
      'due email draft cannot be sent; marked failed',
    );
    return [];
  }

  return {
    name: 'email-drafts',
    async claimDue({ limit, now }) {
      return db.transaction().execute(async (trx) => {
        const due = await claimDueEmailDrafts(trx, { now, limit });
        const deliveries: DueDelivery[] = [];
        for (const draft of due) {
          try {
            deliveries.push(...(await dispatchOne(trx, draft)));
          } catch (error) {
            logger.error(
              { err: error, email_draft_id: draft.id, organization_id: draft.organization_id },
              'due email draft could not be dispatched; marked failed',
            );
            await markEmailDraftFailed(trx, draft, {
              code: DISPATCH_FAILED,
              message: 'an unexpected error kept this draft from being sent; it is not retried',
            });
          }
        }
        return { claimed: due.length, deliveries };
      });
    },
  };
}
