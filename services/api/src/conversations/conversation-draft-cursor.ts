import type { ConversationDraftKeyset } from '@outbound/db';
import { z } from 'zod';
import { cursorMismatch, decodeCursor, encodeCursor } from '../routing/cursor-codec.ts';

/**
 * What a conversation-drafts cursor holds, base64url-encoded JSON: where the page ended (`c`,
 * `i`) and the conversation it lists (`x`), so a cursor cannot be replayed against another
 * conversation. Opaque to callers; may change shape with `v`.
 */
const cursorSchema = z.strictObject({
  v: z.literal(1),
  c: z.iso.datetime({ precision: 6 }).refine((value) => Date.parse(value) >= 0),
  i: z.int().positive(),
  x: z.int().positive(),
});

/** The cursor of the page after `keyset` of conversation `conversationId`'s drafts. */
export function encodeConversationDraftCursor(
  keyset: ConversationDraftKeyset,
  conversationId: number,
): string {
  const payload: z.input<typeof cursorSchema> = {
    v: 1,
    c: keyset.createdAt,
    i: keyset.id,
    x: conversationId,
  };
  return encodeCursor(payload);
}

/**
 * Where the page asked for by `cursor` starts. Throws 400 `validation_failed` on `cursor` when
 * it is not one this API made, or was made for another conversation.
 */
export function decodeConversationDraftCursor(
  cursor: string,
  conversationId: number,
): ConversationDraftKeyset {
  const given = decodeCursor(cursor, cursorSchema);
  if (given.x !== conversationId) {
    throw cursorMismatch(
      `cursor belongs to the drafts of another conversation than ${conversationId}`,
    );
  }
  return { createdAt: given.c, id: given.i };
}
