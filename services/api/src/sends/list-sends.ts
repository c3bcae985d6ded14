import { findSchedule, listSends, sendExists, type Db } from '@outbound/db';
import { z } from 'zod';
import { AppError } from '../errors/app-error.ts';
import { decodeCursor, encodeCursor, invalidCursor } from '../routing/cursor-codec.ts';
import type { SendPage } from '../routes/sends.schema.ts';

export interface ListSendsQuery {
  schedule_id?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/**
 * A page of the organization's sends, newest first, optionally only one schedule's (another
 * organization's schedule is a 404). The cursor is opaque to callers: base64url JSON naming the
 * last send of the previous page; one that does not decode, or names no send of the
 * organization, is a 400.
 */
export async function listSendsPage(
  db: Db,
  organizationId: string,
  query: ListSendsQuery,
): Promise<Omit<SendPage, 'request_id'>> {
  const afterSendId =
    query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorSchema).after;
  // The repository answers an unknown cursor with an empty page, which would read as "no more
  // sends"; a cursor this API never gave out is the caller's mistake.
  if (afterSendId !== undefined && !(await sendExists(db, organizationId, afterSendId))) {
    throw invalidCursor();
  }
  if (
    query.schedule_id !== undefined &&
    (await findSchedule(db, organizationId, query.schedule_id)) === undefined
  ) {
    throw AppError.of('not_found', `schedule ${query.schedule_id} not found`, {
      schedule_id: query.schedule_id,
    });
  }
  // One more than asked tells whether another page follows.
  const rows = await listSends(db, {
    organizationId,
    limit: query.limit + 1,
    ...(query.schedule_id === undefined ? {} : { scheduleId: query.schedule_id }),
    ...(afterSendId === undefined ? {} : { afterSendId }),
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    sends: page.map((send) => ({
      send_id: send.id,
      status: send.status,
      session_id: send.sender_id,
      origin: send.origin,
      schedule_id: send.schedule_id,
      occurrence: send.occurrence,
      planned_at_ms: send.planned_at.getTime(),
      request_id: send.request_id,
      created_at_ms: send.created_at.getTime(),
      updated_at_ms: send.updated_at.getTime(),
    })),
    next_cursor: rows.length > query.limit && last !== undefined ? sendsCursor(last.id) : null,
  };
}

const cursorSchema = z.strictObject({ after: z.uuid() });

/** The cursor of the page after the send `sendId`. */
export function sendsCursor(sendId: string): string {
  return encodeCursor({ after: sendId });
}
