import type { Config, Logger } from '@outbound/config';
import type { Db, SessionGroup } from '@outbound/db';
import type { Queues } from '@outbound/queue';
import type { Principal } from '../auth/principal.ts';
import type { CheckedMedia, MediaIngest } from '../media/media-ingest.ts';
import type { UploadedFile } from '../media/multipart.ts';
import type { SendRequest } from '../routes/sends.schema.ts';

export interface CreateWhatsappSendDeps {
  db: Db;
  queues: Queues;
  mediaIngest: MediaIngest;
  config: Config;
}

export interface CreateWhatsappSendInput {
  principal: Principal;
  requestId: string;
  body: SendRequest;
  /** Image files of a multipart request (the `files` field), in order. */
  files: readonly UploadedFile[];
  log: Logger;
}

/**
 * What a send or schedule carries, checked but not stored yet (see `storeSendContent`), and the
 * groups it goes to.
 */
export interface PreparedSend {
  groups: SessionGroup[];
  text: string | null;
  /** URL media first, then uploaded files, in the caller's order. */
  media: CheckedMedia[];
}
