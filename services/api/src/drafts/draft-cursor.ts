import type { WhatsappDraftKeyset } from '@outbound/db';
import { z } from 'zod';
import { cursorMismatch, decodeCursor, encodeCursor } from '../routing/cursor-codec.ts';

/**
 * What a drafts cursor holds, base64url-encoded JSON: where the page ended (`u`, `i`) and the
 * `session_id` filter it was made for (`s`), so that a cursor cannot be replayed against
 * another listing. It is opaque to callers and may change shape with `v`.
 */
const cursorSchema = z.strictObject({
  v: z.literal(1),
  u: z.iso.datetime({ precision: 6 }).refine((value) => Date.parse(value) >= 0),
  i: z.uuid(),
  s: z.uuid().nullable(),
});

/** The cursor of the page after `keyset`, for a listing filtered by `sessionId` (or not). */
export function encodeDraftCursor(
  keyset: WhatsappDraftKeyset,
  sessionId: string | undefined,
): string {
  const payload: z.input<typeof cursorSchema> = {
    v: 1,
    u: keyset.updatedAt,
    i: keyset.id,
    s: sessionId ?? null,
  };
  return encodeCursor(payload);
}

/**
 * Where the page asked for by `cursor` starts. Throws 400 `validation_failed` on `cursor` when
 * it is not one this API made, or was made for another `session_id` filter.
 */
export function decodeDraftCursor(
  cursor: string,
  sessionId: string | undefined,
): WhatsappDraftKeyset {
  const given = decodeCursor(cursor, cursorSchema);
  if (given.s !== (sessionId ?? null)) {
    throw cursorMismatch('cursor belongs to another listing; ask again with the same session_id');
  }
  return { updatedAt: given.u, id: given.i };
}
