import type { SendOrigin, SendStatus } from '@outbound/domain';
import type { Executor } from './executor.ts';

/** A send as a list shows it: no deliveries. */
export interface SendSummary {
  id: string;
  sender_id: string;
  origin: SendOrigin;
  status: SendStatus;
  schedule_id: string | null;
  occurrence: number | null;
  planned_at: Date;
  request_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface ListSendsOptions {
  organizationId: string;
  /** Only the occurrences of this schedule. */
  scheduleId?: string;
  /** Keyset cursor: only sends listed after this send (older ones). */
  afterSendId?: string;
  limit: number;
}

/**
 * The organization's sends, newest first (by `created_at`, then id). The cursor is a send id:
 * its position is read from the row itself, so it stays exact whatever the clock precision.
 * A cursor naming no send of the organization yields an empty page.
 */
export async function listSends(db: Executor, options: ListSendsOptions): Promise<SendSummary[]> {
  let query = db
    .selectFrom('sends')
    .select([
      'id',
      'sender_id',
      'origin',
      'status',
      'schedule_id',
      'occurrence',
      'planned_at',
      'request_id',
      'created_at',
      'updated_at',
    ])
    .where('organization_id', '=', options.organizationId);
  if (options.scheduleId !== undefined) {
    query = query.where('schedule_id', '=', options.scheduleId);
  }
  if (options.afterSendId !== undefined) {
    const afterSendId = options.afterSendId;
    query = query.where((eb) =>
      eb(
        eb.refTuple('created_at', 'id'),
        '<',
        eb
          .selectFrom('sends as cursor')
          .select(['cursor.created_at', 'cursor.id'])
          .where('cursor.organization_id', '=', options.organizationId)
          .where('cursor.id', '=', afterSendId)
          .$asTuple('created_at', 'id'),
      ),
    );
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
}
