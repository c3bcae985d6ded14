import { createHash } from 'node:crypto';
import type { MessageDraftKeyset } from '@outbound/db';
import { z } from 'zod';
import { cursorMismatch, decodeCursor, encodeCursor } from '../routing/cursor-codec.ts';

/** The filters a listing was asked with, as bounds; a cursor only continues the same listing. */
export interface MessageDraftFilters {
  createdFrom?: string | undefined;
  createdTo?: string | undefined;
}

/**
 * What a cursor holds, base64url-encoded JSON: where the page ended (`c`, `i`) and a hash of
 * the filters it was made for (`f`). Opaque to callers; may change shape with `v`.
 */
const cursorSchema = z.strictObject({
  v: z.literal(1),
  c: z.iso.datetime({ precision: 6 }).refine((value) => Date.parse(value) >= 0),
  i: z.uuid(),
  f: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
});

/** 128 bits of sha256 over the filters: equal filters, equal hash. */
function filterHash(filters: MessageDraftFilters): string {
  const key = JSON.stringify([filters.createdFrom ?? null, filters.createdTo ?? null]);
  return createHash('sha256').update(key).digest('base64url').slice(0, 22);
}

/** The cursor of the page after `keyset`, for a listing with `filters`. */
export function encodeMessageDraftCursor(
  keyset: MessageDraftKeyset,
  filters: MessageDraftFilters,
): string {
  const payload: z.input<typeof cursorSchema> = {
    v: 1,
    c: keyset.createdAt,
    i: keyset.id,
    f: filterHash(filters),
  };
  return encodeCursor(payload);
}

/**
 * Where the page asked for by `cursor` starts. Throws 400 `validation_failed` on `cursor` when
 * it is not one this API made, or was made for other filters.
 */
export function decodeMessageDraftCursor(
  cursor: string,
  filters: MessageDraftFilters,
): MessageDraftKeyset {
  const given = decodeCursor(cursor, cursorSchema);
  if (given.f !== filterHash(filters)) {
    throw cursorMismatch(
      'cursor belongs to another listing; ask again with the same start_date and end_date',
    );
  }
  return { createdAt: given.c, id: given.i };
}
