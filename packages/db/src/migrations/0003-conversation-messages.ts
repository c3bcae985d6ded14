import { sql, type Kysely } from 'kysely';

/**
 * The messages of a conversation. A message draft that is sent is promoted: its conversation
 * is created and the draft's message becomes the first outbound message in it, linked to the
 * send that carries it. Also records which message draft a conversation came from.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE conversation_messages (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      organization_id uuid NOT NULL,
      conversation_id bigint NOT NULL,
      direction text NOT NULL CHECK (direction IN ('outbound', 'inbound')),
      subject text,
      body_html text,
      send_id uuid,
      message_draft_id uuid,
      created_at timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (conversation_id, organization_id)
        REFERENCES conversations (id, organization_id) ON DELETE CASCADE,
      FOREIGN KEY (send_id, organization_id) REFERENCES sends (id, organization_id)
    );
    CREATE INDEX conversation_messages_conversation_idx
      ON conversation_messages (conversation_id, created_at, id);
    ALTER TABLE conversations ADD COLUMN message_draft_id uuid;
    CREATE UNIQUE INDEX conversations_message_draft_idx
      ON conversations (message_draft_id) WHERE message_draft_id IS NOT NULL;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DROP INDEX conversations_message_draft_idx;
    ALTER TABLE conversations DROP COLUMN message_draft_id;
    DROP TABLE conversation_messages;
  `.execute(db);
}
