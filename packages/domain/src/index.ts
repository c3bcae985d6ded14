export { newId, isUuid } from './ids.ts';
export * from './sender.schema.ts';
export * from './delivery.schema.ts';
export * from './statuses.schema.ts';
export {
  apiKeyMatches,
  apiKeyPrefix,
  generateApiKey,
  hashApiKey,
  type GeneratedApiKey,
} from './api-key.ts';
export { CredentialsCipher } from './credentials-cipher.ts';
export {
  decodeOpaqueId,
  encodeOpaqueId,
  opaqueIdKindSchema,
  type DecodedOpaqueId,
  type OpaqueIdKind,
} from './opaque-id.ts';
export {
  ALL_WEBHOOK_EVENTS,
  generateWebhookSecret,
  webhookDeliveryStatusSchema,
  webhookEventTypeSchema,
  webhookWants,
  type WebhookDeliveryStatus,
  type WebhookEventFilter,
  type WebhookEventType,
} from './webhook.schema.ts';
export { withTimeout } from './with-timeout.ts';
