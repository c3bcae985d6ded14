import { whatsappSendContentSchema, type Executor, type WhatsappSendContent } from '@outbound/db';
import type { MediaIngest } from '../media/media-ingest.ts';
import type { PreparedSend } from './whatsapp-send-types.ts';

/**
 * Stores the prepared media through `trx` and returns the content a send or schedule carries.
 * Called inside the transaction that creates the send or schedule, so a request refused there
 * (a replayed or reused idempotency key, a failed insert) rolls its media back with it.
 */
export async function storeSendContent(
  mediaIngest: MediaIngest,
  trx: Executor,
  organizationId: string,
  prepared: PreparedSend,
): Promise<WhatsappSendContent> {
  const media = await mediaIngest.store(trx, organizationId, prepared.media);
  return whatsappSendContentSchema.parse({ text: prepared.text, media });
}
