import type { Config, Logger } from '@outbound/config';
import type { Db, SessionGroup, WhatsappSendContent } from '@outbound/db';
import type { Queues } from '@outbound/queue';
import type { Principal } from '../auth/principal.ts';
import type { MediaIngest } from '../media/media-ingest.ts';
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

/** What a send or schedule carries, checked and stored, and the groups it goes to. */
export interface PreparedSend {
  groups: SessionGroup[];
  content: WhatsappSendContent;
}
