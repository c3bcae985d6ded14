export {
  EMAIL_ATTACHMENTS_MAX_BYTES,
  emailAttachmentSchema,
  emailMailboxSchema,
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
  type EmailMailbox,
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
  createGmailAdapter,
  DEFAULT_GMAIL_TIMEOUT_MS,
  type GmailAdapterOptions,
} from './email/gmail.adapter.ts';
export { createGmailTokenCache, type GmailTokenCache } from './email/gmail-oauth.ts';
export {
  GMAIL_API_BASE_URL,
  gmailCredentialsSchema,
  gmailSettingsSchema,
  GOOGLE_TOKEN_URL,
  type GmailCredentials,
  type GmailSettings,
} from './email/gmail.settings.ts';
export {
  createSmtpAdapter,
  DEFAULT_SMTP_TIMEOUT_MS,
  type SmtpAdapterOptions,
} from './email/smtp.adapter.ts';
export {
  smtpCredentialsSchema,
  smtpSettingsSchema,
  smtpTlsModeSchema,
  type SmtpCredentials,
  type SmtpSettings,
  type SmtpTlsMode,
} from './email/smtp.settings.ts';
export {
  createSandboxAdapter,
  sandboxSettingsSchema,
  type SandboxAdapterOptions,
  type SandboxEntry,
  type SandboxOutbox,
} from './sandbox/sandbox.adapter.ts';
export {
  createTwilioAdapter,
  DEFAULT_TWILIO_TIMEOUT_MS,
  type TwilioAdapterOptions,
} from './sms/twilio.adapter.ts';
export {
  TWILIO_API_BASE_URL,
  twilioCredentialsSchema,
  twilioSettingsSchema,
  type TwilioCredentials,
  type TwilioSettings,
} from './sms/twilio.settings.ts';
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
