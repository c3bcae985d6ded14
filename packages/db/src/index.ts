export type * from './database.ts';
export { createDb, createPool, pingDatabase, type Db, type DatabaseOptions } from './connection.ts';
export {
  appliedMigrations,
  ensureDatabaseExists,
  migrateToLatest,
  MigrationError,
} from './migrate.ts';
export type { Executor } from './repositories/executor.ts';
export * from './repositories/organizations.repository.ts';
export * from './repositories/api-keys.repository.ts';
export * from './repositories/senders.repository.ts';
export * from './repositories/groups.repository.ts';
export * from './repositories/sandbox-messages.repository.ts';
export * from './repositories/events.repository.ts';
export * from './repositories/sends.repository.ts';
export * from './repositories/idempotency.repository.ts';
export * from './repositories/session-groups.repository.ts';
export * from './repositories/send-reads.repository.ts';
export * from './repositories/deliveries.repository.ts';
export * from './repositories/delivery-batches.repository.ts';
export * from './repositories/media-objects.repository.ts';
export * from './repositories/whatsapp-drafts.repository.ts';
export * from './repositories/schedules.repository.ts';
export * from './repositories/schedule-cancel.repository.ts';
export * from './repositories/send-pages.repository.ts';
export * from './repositories/savepoint.ts';
export * from './repositories/email-send-content.ts';
export * from './repositories/email-drafts.repository.ts';
export * from './repositories/email-draft-reads.repository.ts';
export * from './repositories/email-draft-dispatch.repository.ts';
export * from './repositories/email-send-message.repository.ts';
export * from './repositories/conversations.repository.ts';
export * from './repositories/agents.repository.ts';
export * from './repositories/conversation-drafts.repository.ts';
export * from './repositories/message-draft-send-content.ts';
export * from './repositories/message-drafts.repository.ts';
export * from './repositories/message-draft-dispatch.repository.ts';
export * from './repositories/webhook-endpoints.repository.ts';
export * from './repositories/webhook-relay.repository.ts';
export * from './repositories/webhook-deliveries.repository.ts';
export { isDependencyUnavailable } from './unavailable-error.ts';
