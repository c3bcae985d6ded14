import { sql, type Kysely } from 'kysely';

/**
 * The whole domain of DESIGN §3. Tenant tables carry `organization_id`, and references between
 * tenant rows are composite foreign keys on (id, organization_id), so a row can never point at
 * another organization's row whatever the application code does.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE organizations (
      id uuid PRIMARY KEY,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE api_keys (
      id uuid PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      actor_user_id text NOT NULL CHECK (length(actor_user_id) BETWEEN 1 AND 200),
      name text NOT NULL DEFAULT '',
      prefix text NOT NULL UNIQUE,
      key_hash text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    );
    CREATE INDEX api_keys_organization_idx ON api_keys (organization_id);

    CREATE TABLE senders (
      id uuid PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      channel text NOT NULL CHECK (channel IN ('whatsapp', 'email', 'sms')),
      provider text NOT NULL CHECK (provider IN ('sandbox', 'waha', 'gmail', 'smtp', 'twilio')),
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      label text NOT NULL DEFAULT '',
      address text,
      role text NOT NULL DEFAULT 'sending' CHECK (role IN ('sending', 'receiving')),
      status text NOT NULL DEFAULT 'WORKING' CHECK (status IN ('WORKING', 'STOPPED', 'FAILED')),
      status_reason text,
      rate_limit_max integer NOT NULL CHECK (rate_limit_max > 0),
      rate_limit_window_ms integer NOT NULL CHECK (rate_limit_window_ms > 0),
      settings jsonb NOT NULL DEFAULT '{}'::jsonb,
      credentials_sealed text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (id, organization_id),
      CHECK (
        (channel = 'whatsapp' AND provider IN ('sandbox', 'waha'))
        OR (channel = 'email' AND provider IN ('sandbox', 'gmail', 'smtp'))
        OR (channel = 'sms' AND provider IN ('sandbox', 'twilio'))
      )
    );
    CREATE INDEX senders_organization_channel_idx ON senders (organization_id, channel);

    CREATE TABLE groups (
      id uuid PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      chat_id text NOT NULL CHECK (length(chat_id) BETWEEN 1 AND 200),
      name text NOT NULL DEFAULT '',
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (id, organization_id),
      UNIQUE (organization_id, chat_id)
    );

    -- A group is present in the sessions that have joined it.
    CREATE TABLE group_sessions (
      organization_id uuid NOT NULL,
      group_id uuid NOT NULL,
      session_id uuid NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (session_id, group_id),
      FOREIGN KEY (group_id, organization_id) REFERENCES groups (id, organization_id) ON DELETE CASCADE,
      FOREIGN KEY (session_id, organization_id) REFERENCES senders (id, organization_id) ON DELETE CASCADE
    );
    CREATE INDEX group_sessions_group_idx ON group_sessions (group_id);

    CREATE TABLE agents (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      email text NOT NULL,
      name text NOT NULL DEFAULT '',
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (id, organization_id),
      UNIQUE (organization_id, email)
    );

    CREATE TABLE media_objects (
      id uuid PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      storage_key text NOT NULL UNIQUE,
      sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
      size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
      mimetype text NOT NULL,
      filename text,
      source_url text,
      data bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (id, organization_id)
    );
    CREATE INDEX media_objects_organization_sha_idx ON media_objects (organization_id, sha256);

    CREATE TABLE schedules (
      id uuid PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      sender_id uuid NOT NULL,
      actor_user_id text NOT NULL,
      group_ids uuid[] NOT NULL,
      content jsonb NOT NULL,
      first_run_at timestamptz NOT NULL,
      interval_ms bigint CHECK (interval_ms > 0),
      max_occurrences integer NOT NULL CHECK (max_occurrences >= 1),
      occurrences_made integer NOT NULL DEFAULT 0 CHECK (occurrences_made >= 0),
      next_run_at timestamptz,
      status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'paused', 'completed', 'canceled')),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      canceled_at timestamptz,
      UNIQUE (id, organization_id),
      CHECK (occurrences_made <= max_occurrences),
      FOREIGN KEY (sender_id, organization_id) REFERENCES senders (id, organization_id)
    );
    CREATE INDEX schedules_due_idx ON schedules (next_run_at) WHERE status = 'active';

    -- One dispatch of one content to a set of recipients.
    CREATE TABLE sends (
      id uuid PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      sender_id uuid NOT NULL,
      channel text NOT NULL CHECK (channel IN ('whatsapp', 'email', 'sms')),
      origin text NOT NULL CHECK (
        origin IN ('whatsapp_send', 'schedule_occurrence', 'whatsapp_draft', 'email_draft', 'message_draft')
      ),
      actor_user_id text,
      content jsonb NOT NULL,
      status text NOT NULL DEFAULT 'queued' CHECK (
        status IN ('queued', 'sending', 'sent', 'partially_failed', 'failed', 'canceled')
      ),
      idempotency_key text,
      schedule_id uuid,
      occurrence integer CHECK (occurrence >= 1),
      planned_at timestamptz NOT NULL DEFAULT now(),
      request_id text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (id, organization_id),
      UNIQUE (schedule_id, occurrence),
      CHECK ((schedule_id IS NULL) = (occurrence IS NULL)),
      FOREIGN KEY (sender_id, organization_id) REFERENCES senders (id, organization_id),
      FOREIGN KEY (schedule_id, organization_id) REFERENCES schedules (id, organization_id)
    );
    CREATE UNIQUE INDEX sends_idempotency_key_idx ON sends (organization_id, idempotency_key)
      WHERE idempotency_key IS NOT NULL;
    CREATE INDEX sends_organization_created_idx ON sends (organization_id, created_at DESC, id DESC);

    -- One provider call for one recipient of a send.
    CREATE TABLE deliveries (
      id uuid PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      send_id uuid NOT NULL,
      sender_id uuid NOT NULL,
      group_id uuid,
      recipient text NOT NULL,
      status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'canceled')),
      attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
      possible_duplicate boolean NOT NULL DEFAULT false,
      due_at timestamptz NOT NULL DEFAULT now(),
      provider_message_id text,
      error_code text,
      error_message text,
      claimed_at timestamptz,
      sent_at timestamptz,
      failed_at timestamptz,
      canceled_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (id, organization_id),
      FOREIGN KEY (send_id, organization_id) REFERENCES sends (id, organization_id) ON DELETE CASCADE,
      FOREIGN KEY (sender_id, organization_id) REFERENCES senders (id, organization_id),
      FOREIGN KEY (group_id, organization_id) REFERENCES groups (id, organization_id)
    );
    CREATE INDEX deliveries_send_idx ON deliveries (send_id);
    -- The sweeper's scan: unfinished deliveries by how long they have waited.
    CREATE INDEX deliveries_unfinished_idx ON deliveries (status, updated_at)
      WHERE status IN ('queued', 'sending');

    CREATE TABLE whatsapp_drafts (
      id uuid PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      actor_user_id text NOT NULL,
      session_id uuid NOT NULL,
      group_ids uuid[] NOT NULL DEFAULT '{}',
      text text NOT NULL DEFAULT '' CHECK (length(text) <= 4096),
      media jsonb NOT NULL DEFAULT '[]'::jsonb,
      schedule jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (session_id, organization_id) REFERENCES senders (id, organization_id) ON DELETE CASCADE
    );
    CREATE INDEX whatsapp_drafts_owner_idx
      ON whatsapp_drafts (organization_id, actor_user_id, updated_at DESC, id DESC);

    CREATE TABLE email_drafts (
      id uuid PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      from_account_id uuid NOT NULL,
      to_addresses text[] NOT NULL DEFAULT '{}',
      cc_addresses text[] NOT NULL DEFAULT '{}',
      bcc_addresses text[] NOT NULL DEFAULT '{}',
      subject text,
      body_text text,
      body_html text,
      context_type text,
      context_id uuid,
      planned_send_at timestamptz,
      status text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'scheduled', 'sending', 'sent', 'failed', 'canceled')),
      send_id uuid,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (id, organization_id),
      FOREIGN KEY (from_account_id, organization_id) REFERENCES senders (id, organization_id),
      FOREIGN KEY (send_id, organization_id) REFERENCES sends (id, organization_id)
    );
    CREATE INDEX email_drafts_due_idx ON email_drafts (planned_send_at)
      WHERE planned_send_at IS NOT NULL AND status IN ('draft', 'scheduled');
    CREATE INDEX email_drafts_organization_idx ON email_drafts (organization_id, created_at DESC, id DESC);
    CREATE INDEX email_drafts_context_idx ON email_drafts (organization_id, context_type, context_id);

    CREATE TABLE email_draft_attachments (
      id uuid PRIMARY KEY,
      organization_id uuid NOT NULL,
      draft_id uuid NOT NULL,
      position integer NOT NULL CHECK (position >= 0),
      filename text NOT NULL,
      content_type text NOT NULL,
      size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
      data bytea NOT NULL,
      UNIQUE (draft_id, position),
      FOREIGN KEY (draft_id, organization_id) REFERENCES email_drafts (id, organization_id) ON DELETE CASCADE
    );

    CREATE TABLE conversations (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      modality text NOT NULL CHECK (modality IN ('email', 'text')),
      subject text,
      recipient_name text,
      recipient_email text,
      recipient_phone_number text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (id, organization_id)
    );

    -- Organization message drafts (first-contact outreach).
    CREATE TABLE message_drafts (
      id uuid PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      modality text NOT NULL CHECK (modality IN ('email', 'text')),
      sender_id uuid NOT NULL,
      agent_id bigint,
      subject text,
      body_html text,
      recipient_name text,
      recipient_email text,
      recipient_phone_number text,
      cc_emails text[] NOT NULL DEFAULT '{}',
      bcc_emails text[] NOT NULL DEFAULT '{}',
      folder text NOT NULL DEFAULT 'drafts' CHECK (folder ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
      status text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'queued', 'sending', 'sent', 'failed')),
      scheduled_send_at timestamptz,
      send_id uuid,
      conversation_id bigint,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (id, organization_id),
      CHECK (subject IS NOT NULL OR body_html IS NOT NULL),
      FOREIGN KEY (sender_id, organization_id) REFERENCES senders (id, organization_id),
      FOREIGN KEY (agent_id, organization_id) REFERENCES agents (id, organization_id),
      FOREIGN KEY (send_id, organization_id) REFERENCES sends (id, organization_id),
      FOREIGN KEY (conversation_id, organization_id) REFERENCES conversations (id, organization_id)
    );
    CREATE INDEX message_drafts_list_idx ON message_drafts (organization_id, created_at DESC, id DESC);

    -- Helpdesk drafts inside a conversation.
    CREATE TABLE conversation_drafts (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      organization_id uuid NOT NULL,
      conversation_id bigint NOT NULL,
      author_id bigint NOT NULL,
      target_id bigint,
      title text CHECK (length(title) <= 250),
      content jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (conversation_id, organization_id) REFERENCES conversations (id, organization_id) ON DELETE CASCADE,
      FOREIGN KEY (author_id, organization_id) REFERENCES agents (id, organization_id),
      FOREIGN KEY (target_id, organization_id) REFERENCES agents (id, organization_id)
    );
    CREATE INDEX conversation_drafts_conversation_idx ON conversation_drafts (conversation_id);

    -- Append-only history of sends and deliveries; also the outbox for status webhooks.
    CREATE TABLE events (
      id uuid PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      type text NOT NULL,
      send_id uuid,
      delivery_id uuid,
      schedule_id uuid,
      payload jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX events_organization_idx ON events (organization_id, id);
    CREATE INDEX events_send_idx ON events (send_id) WHERE send_id IS NOT NULL;

    CREATE TABLE notifications (
      id uuid PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      type text NOT NULL,
      payload jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      read_at timestamptz
    );
    CREATE INDEX notifications_organization_idx ON notifications (organization_id, created_at DESC);

    -- The first answer to each (organization, idempotency key), replayed to duplicates.
    CREATE TABLE idempotency_records (
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
      scope text NOT NULL,
      fingerprint text NOT NULL,
      response_status integer NOT NULL,
      response_body jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      PRIMARY KEY (organization_id, idempotency_key)
    );
    CREATE INDEX idempotency_records_expiry_idx ON idempotency_records (expires_at);

    -- What the sandbox provider "delivered": the rendered message, for demos and tests.
    CREATE TABLE sandbox_messages (
      id uuid PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      sender_id uuid NOT NULL,
      channel text NOT NULL CHECK (channel IN ('whatsapp', 'email', 'sms')),
      recipient text NOT NULL,
      delivery_id uuid,
      content jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (sender_id, organization_id) REFERENCES senders (id, organization_id) ON DELETE CASCADE
    );
    CREATE INDEX sandbox_messages_sender_idx ON sandbox_messages (sender_id, created_at);
    CREATE INDEX sandbox_messages_delivery_idx ON sandbox_messages (delivery_id) WHERE delivery_id IS NOT NULL;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DROP TABLE sandbox_messages, idempotency_records, notifications, events, conversation_drafts,
      message_drafts, conversations, email_draft_attachments, email_drafts, whatsapp_drafts,
      deliveries, sends, schedules, media_objects, agents, group_sessions, groups, senders,
      api_keys, organizations;
  `.execute(db);
}
