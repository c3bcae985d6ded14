import type { WhatsappDraftKeyset } from '@outbound/db';
import { z } from 'zod';
import { validationFailed } from '../routing/validate-input.ts';

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
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

/**
 * Where the page asked for by `cursor` starts. Throws 400 `validation_failed` on `cursor` when
 * it is not one this API made, or was made for another `session_id` filter.
 */
export function decodeDraftCursor(
  cursor: string,
  sessionId: string | undefined,
): WhatsappDraftKeyset {
  const parsed = cursorSchema.safeParse(readJson(cursor));
  if (!parsed.success) {
    throw cursorError('invalid_cursor', 'cursor is not one this API returned');
  }
  if (parsed.data.s !== (sessionId ?? null)) {
    throw cursorError(
      'cursor_mismatch',
      'cursor belongs to another listing; ask again with the same session_id',
    );
  }
  return { updatedAt: parsed.data.u, id: parsed.data.i };
}

function readJson(cursor: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function cursorError(code: string, message: string): Error {
  return validationFailed([{ location: 'query', path: 'cursor', code, message }]);
}
