import type { EmailDraftKeyset } from '@outbound/db';
import { emailDraftStatusSchema, type EmailDraftStatus } from '@outbound/domain';
import { z } from 'zod';
import { cursorMismatch, decodeCursor, encodeCursor } from '../routing/cursor-codec.ts';

/** The filters a listing was asked with; a cursor only continues the same listing. */
export interface EmailDraftFilters {
  status?: EmailDraftStatus | undefined;
  context_type?: string | undefined;
  context_id?: string | undefined;
}

/**
 * What a cursor holds, base64url-encoded JSON: where the page ended (`c`, `i`) and the
 * filters it was made for (`f`). Opaque to callers; may change shape with `v`.
 */
const cursorSchema = z.strictObject({
  v: z.literal(1),
  c: z.iso.datetime({ precision: 6 }).refine((value) => Date.parse(value) >= 0),
  i: z.uuid(),
  f: z.strictObject({
    s: emailDraftStatusSchema.nullable(),
    t: z.string().nullable(),
    x: z.uuid().nullable(),
  }),
});

function filterKey(filters: EmailDraftFilters): z.output<typeof cursorSchema>['f'] {
  return {
    s: filters.status ?? null,
    t: filters.context_type ?? null,
    x: filters.context_id ?? null,
  };
}

/** The cursor of the page after `keyset`, for a listing with `filters`. */
export function encodeEmailDraftCursor(
  keyset: EmailDraftKeyset,
  filters: EmailDraftFilters,
): string {
  const payload: z.input<typeof cursorSchema> = {
    v: 1,
    c: keyset.createdAt,
    i: keyset.id,
    f: filterKey(filters),
  };
  return encodeCursor(payload);
}

/**
 * Where the page asked for by `cursor` starts. Throws 400 `validation_failed` on `cursor` when
 * it is not one this API made, or was made for other filters.
 */
export function decodeEmailDraftCursor(
  cursor: string,
  filters: EmailDraftFilters,
): EmailDraftKeyset {
  const given = decodeCursor(cursor, cursorSchema);
  const expected = filterKey(filters);
  const givenFilters = given.f;
  if (
    givenFilters.s !== expected.s ||
    givenFilters.t !== expected.t ||
    givenFilters.x !== expected.x
  ) {
    throw cursorMismatch(
      'cursor belongs to another listing; ask again with the same status and context filters',
    );
  }
  return { createdAt: given.c, id: given.i };
}
