import type {
  ColumnType,
  Generated,
  Insertable,
  JSONColumnType,
  Selectable,
  Updateable,
} from 'kysely';
import type {
  Channel,
  DeliveryStatus,
  EmailDraftStatus,
  MessageDraftStatus,
  Modality,
  Provider,
  ScheduleStatus,
  SendOrigin,
  SendStatus,
  SenderRole,
  SenderStatus,
  WebhookDeliveryStatus,
} from '@outbound/domain';

/** A timestamptz column the database fills in unless told otherwise. */
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** jsonb: read as the parsed value, written as a JSON string. */
type Json<T extends object | null> = JSONColumnType<T>;
type IdentityId = GeneratedAlways<number>;
type GeneratedAlways<T> = ColumnType<T, never, never>;

export interface OrganizationsTable {
  id: string;
  name: string;
  created_at: CreatedAt;
}

export interface ApiKeysTable {
  id: string;
  organization_id: string;
  actor_user_id: string;
  name: Generated<string>;
  prefix: string;
  key_hash: string;
  created_at: CreatedAt;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface SendersTable {
  id: string;
  organization_id: string;
  channel: Channel;
  provider: Provider;
  name: string;
  label: Generated<string>;
  address: string | null;
  role: Generated<SenderRole>;
  status: Generated<SenderStatus>;
  status_reason: string | null;
  rate_limit_max: number;
  rate_limit_window_ms: number;
  settings: Json<Record<string, unknown>>;
  credentials_sealed: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface GroupsTable {
  id: string;
  organization_id: string;
  chat_id: string;
  name: Generated<string>;
  created_at: CreatedAt;
}

export interface GroupSessionsTable {
  organization_id: string;
  group_id: string;
  session_id: string;
  created_at: CreatedAt;
}

export interface AgentsTable {
  id: IdentityId;
  organization_id: string;
  email: string;
  name: Generated<string>;
  created_at: CreatedAt;
}

export interface MediaObjectsTable {
  id: string;
  organization_id: string;
  storage_key: string;
  sha256: string;
  size_bytes: number;
  mimetype: string;
  filename: string | null;
  source_url: string | null;
  data: Buffer;
  created_at: CreatedAt;
}

export interface SchedulesTable {
  id: string;
  organization_id: string;
  sender_id: string;
  actor_user_id: string;
  group_ids: string[];
  content: Json<Record<string, unknown>>;
  first_run_at: Timestamp;
  interval_ms: number | null;
  max_occurrences: number;
  occurrences_made: Generated<number>;
  next_run_at: Timestamp | null;
  status: Generated<ScheduleStatus>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  canceled_at: Timestamp | null;
}

export interface SendsTable {
  id: string;
  organization_id: string;
  sender_id: string;
  channel: Channel;
  origin: SendOrigin;
  actor_user_id: string | null;
  content: Json<Record<string, unknown>>;
  status: Generated<SendStatus>;
  idempotency_key: string | null;
  schedule_id: string | null;
  occurrence: number | null;
  planned_at: Generated<Date>;
  request_id: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface DeliveriesTable {
  id: string;
  organization_id: string;
  send_id: string;
  sender_id: string;
  group_id: string | null;
  recipient: string;
  status: Generated<DeliveryStatus>;
  attempts: Generated<number>;
  possible_duplicate: Generated<boolean>;
  due_at: Generated<Date>;
  provider_message_id: string | null;
  error_code: string | null;
  error_message: string | null;
  claimed_at: Timestamp | null;
  sent_at: Timestamp | null;
  failed_at: Timestamp | null;
  canceled_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface WhatsappDraftsTable {
  id: string;
  organization_id: string;
  actor_user_id: string;
  session_id: string;
  group_ids: Generated<string[]>;
  text: Generated<string>;
  media: Json<unknown[]>;
  schedule: Json<Record<string, unknown>> | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface EmailDraftsTable {
  id: string;
  organization_id: string;
  from_account_id: string;
  to_addresses: Generated<string[]>;
  cc_addresses: Generated<string[]>;
  bcc_addresses: Generated<string[]>;
  subject: string | null;
  body_text: string | null;
  body_html: string | null;
  context_type: string | null;
  context_id: string | null;
  planned_send_at: Timestamp | null;
  status: Generated<EmailDraftStatus>;
  send_id: string | null;
  /** Why a draft that came due could not be sent (migration 0002); only when `failed`. */
  error_code: string | null;
  error_message: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface EmailDraftAttachmentsTable {
  id: string;
  organization_id: string;
  draft_id: string;
  position: number;
  filename: string;
  content_type: string;
  size_bytes: number;
  data: Buffer;
}

export interface ConversationsTable {
  id: IdentityId;
  organization_id: string;
  modality: Modality;
  subject: string | null;
  recipient_name: string | null;
  recipient_email: string | null;
  recipient_phone_number: string | null;
  /** The message draft whose sending created the conversation, if one did. */
  message_draft_id: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ConversationMessagesTable {
  id: IdentityId;
  organization_id: string;
  conversation_id: number;
  direction: 'outbound' | 'inbound';
  subject: string | null;
  body_html: string | null;
  send_id: string | null;
  message_draft_id: string | null;
  created_at: CreatedAt;
}

export interface MessageDraftsTable {
  id: string;
  organization_id: string;
  modality: Modality;
  sender_id: string;
  agent_id: number | null;
  subject: string | null;
  body_html: string | null;
  recipient_name: string | null;
  recipient_email: string | null;
  recipient_phone_number: string | null;
  cc_emails: Generated<string[]>;
  bcc_emails: Generated<string[]>;
  folder: Generated<string>;
  status: Generated<MessageDraftStatus>;
  scheduled_send_at: Timestamp | null;
  send_id: string | null;
  conversation_id: number | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ConversationDraftsTable {
  id: IdentityId;
  organization_id: string;
  conversation_id: number;
  author_id: number;
  target_id: number | null;
  title: string | null;
  content: Json<Record<string, unknown>>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface EventsTable {
  id: string;
  organization_id: string;
  type: string;
  send_id: string | null;
  delivery_id: string | null;
  schedule_id: string | null;
  payload: Json<Record<string, unknown>>;
  created_at: CreatedAt;
  /** When the webhook relay made the event's webhook deliveries (migration 0004); null until then. */
  relayed_at: ColumnType<Date | null, never, Date | string>;
}

/** An organization's webhook endpoint (migration 0004). */
export interface WebhookEndpointsTable {
  id: string;
  organization_id: string;
  url: string;
  /** Event types to receive; `['*']` receives every type. */
  event_types: string[];
  /** The signing secret, sealed by `CredentialsCipher`. */
  secret_sealed: string;
  created_at: CreatedAt;
  disabled_at: Timestamp | null;
}

/** One event for one endpoint, and how its calls went (migration 0004). */
export interface WebhookDeliveriesTable {
  id: string;
  organization_id: string;
  endpoint_id: string;
  event_id: string;
  send_id: string | null;
  status: Generated<WebhookDeliveryStatus>;
  attempts: Generated<number>;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: Timestamp | null;
  next_attempt_at: Generated<Date>;
  delivered_at: Timestamp | null;
  failed_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface NotificationsTable {
  id: string;
  organization_id: string;
  type: string;
  payload: Json<Record<string, unknown>>;
  created_at: CreatedAt;
  read_at: Timestamp | null;
}

export interface IdempotencyRecordsTable {
  organization_id: string;
  idempotency_key: string;
  scope: string;
  fingerprint: string;
  response_status: number;
  response_body: Json<object>;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

export interface SandboxMessagesTable {
  id: string;
  organization_id: string;
  sender_id: string;
  channel: Channel;
  recipient: string;
  delivery_id: string | null;
  content: Json<Record<string, unknown>>;
  created_at: CreatedAt;
}

/** The whole database as Kysely sees it. Kept in step with the migrations by hand. */
export interface Database {
  organizations: OrganizationsTable;
  api_keys: ApiKeysTable;
  senders: SendersTable;
  groups: GroupsTable;
  group_sessions: GroupSessionsTable;
  agents: AgentsTable;
  media_objects: MediaObjectsTable;
  schedules: SchedulesTable;
  sends: SendsTable;
  deliveries: DeliveriesTable;
  whatsapp_drafts: WhatsappDraftsTable;
  email_drafts: EmailDraftsTable;
  email_draft_attachments: EmailDraftAttachmentsTable;
  conversations: ConversationsTable;
  conversation_messages: ConversationMessagesTable;
  message_drafts: MessageDraftsTable;
  conversation_drafts: ConversationDraftsTable;
  events: EventsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  notifications: NotificationsTable;
  idempotency_records: IdempotencyRecordsTable;
  sandbox_messages: SandboxMessagesTable;
}

export type Organization = Selectable<OrganizationsTable>;
export type ApiKey = Selectable<ApiKeysTable>;
export type Sender = Selectable<SendersTable>;
export type NewSender = Insertable<SendersTable>;
export type SenderUpdate = Updateable<SendersTable>;
export type Group = Selectable<GroupsTable>;
export type Send = Selectable<SendsTable>;
export type Delivery = Selectable<DeliveriesTable>;
export type SandboxMessage = Selectable<SandboxMessagesTable>;
export type WebhookEndpoint = Selectable<WebhookEndpointsTable>;
export type WebhookDelivery = Selectable<WebhookDeliveriesTable>;
