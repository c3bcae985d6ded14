import { sql, type Kysely } from 'kysely';

/**
 * What dispatching email drafts needs beyond 0001: why a draft that came due could not be sent
 * (`error_code`, `error_message`; only on a `failed` draft that never got a send), and at most
 * one draft per send.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE email_drafts
      ADD COLUMN error_code text,
      ADD COLUMN error_message text,
      ADD CONSTRAINT email_drafts_error_pair_check
        CHECK ((error_code IS NULL) = (error_message IS NULL)),
      ADD CONSTRAINT email_drafts_error_only_unsent_failed_check
        CHECK (error_code IS NULL OR (status = 'failed' AND send_id IS NULL));
    CREATE UNIQUE INDEX email_drafts_send_idx ON email_drafts (send_id) WHERE send_id IS NOT NULL;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DROP INDEX email_drafts_send_idx;
    ALTER TABLE email_drafts
      DROP CONSTRAINT email_drafts_error_only_unsent_failed_check,
      DROP CONSTRAINT email_drafts_error_pair_check,
      DROP COLUMN error_message,
      DROP COLUMN error_code;
  `.execute(db);
}
