import type { Migration } from 'kysely/migration';
import * as m0001 from './0001-initial-schema.ts';
import * as m0002 from './0002-email-draft-dispatch.ts';
import * as m0003 from './0003-conversation-messages.ts';
import * as m0004 from './0004-webhooks.ts';

/** Every migration, in order. Append only: never edit one that has been applied. */
export const migrations: Record<string, Migration> = {
  '0001-initial-schema': m0001,
  '0002-email-draft-dispatch': m0002,
  '0003-conversation-messages': m0003,
  '0004-webhooks': m0004,
};
