export {
  emailAttachmentSchema,
  emailMessageSchema,
  MESSAGE_SCHEMAS,
  mediaItemSchema,
  parseMessage,
  smsMessageSchema,
  whatsappMessageSchema,
  type AnyChannelAdapter,
  type ChannelAdapter,
  type ChannelMessage,
  type EmailAttachment,
  type EmailMessage,
  type MediaItem,
  type MessageInputOf,
  type MessageOf,
  type SendRequest,
  type SendResult,
  type SmsMessage,
  type WhatsappMessage,
} from './channel-adapter.ts';
export {
  AdapterSetupError,
  PermanentDeliveryError,
  RetryableDeliveryError,
  type AdapterSetupErrorCode,
  type PermanentErrorCode,
  type RetryableDeliveryErrorOptions,
  type RetryableErrorCode,
} from './delivery-errors.ts';
export {
  createAdapter,
  PROVIDER_REGISTRY,
  type AdapterDeps,
  type AdapterSender,
  type ProviderEntry,
} from './provider-registry.ts';
export {
  createSandboxAdapter,
  sandboxSettingsSchema,
  type SandboxAdapterOptions,
  type SandboxEntry,
  type SandboxOutbox,
} from './sandbox/sandbox.adapter.ts';
export {
  createWahaAdapter,
  DEFAULT_WAHA_TIMEOUT_MS,
  type WahaAdapterOptions,
} from './whatsapp/waha.adapter.ts';
export {
  wahaCredentialsSchema,
  wahaSettingsSchema,
  type WahaCredentials,
  type WahaSettings,
} from './whatsapp/waha.settings.ts';
