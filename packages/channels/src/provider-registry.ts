import { z } from 'zod';
import { type Channel, type Provider, providerServesChannel } from '@outbound/domain';
import type { AnyChannelAdapter, ChannelAdapter } from './channel-adapter.ts';
import { AdapterSetupError } from './delivery-errors.ts';
import { createGmailAdapter } from './email/gmail.adapter.ts';
import type { GmailTokenCache } from './email/gmail-oauth.ts';
import { gmailCredentialsSchema, gmailSettingsSchema } from './email/gmail.settings.ts';
import { createSmtpAdapter } from './email/smtp.adapter.ts';
import { smtpCredentialsSchema, smtpSettingsSchema } from './email/smtp.settings.ts';
import {
  createSandboxAdapter,
  sandboxSettingsSchema,
  type SandboxOutbox,
} from './sandbox/sandbox.adapter.ts';
import { createTwilioAdapter } from './sms/twilio.adapter.ts';
import { twilioCredentialsSchema, twilioSettingsSchema } from './sms/twilio.settings.ts';
import { secretsOf, withRedactedErrors } from './redact-secrets.ts';
import { createWahaAdapter } from './whatsapp/waha.adapter.ts';
import { wahaCredentialsSchema, wahaSettingsSchema } from './whatsapp/waha.settings.ts';

/** The sender an adapter is built for; the shape of a `senders` row, minus what adapters ignore. */
export interface AdapterSender<C extends Channel = Channel> {
  id: string;
  organization_id: string;
  channel: C;
  provider: Provider;
  /** The sender's provider settings, as stored; checked against the provider's schema. */
  settings: unknown;
}

/** What adapters may use besides their sender: injected, so tests pass real or fake ones. */
export interface AdapterDeps {
  sandboxOutbox: SandboxOutbox;
  /**
   * How long one provider call may take (the dispatcher passes `ADAPTER_TIMEOUT_MS`); past it
   * the adapter gives up with a retryable `timeout`. Adapters default to 15 s.
   */
  timeoutMs?: number;
  /**
   * Gmail access tokens kept across adapters (`createGmailTokenCache()`, one per process).
   * Without it each Gmail adapter refreshes its token on its first send.
   */
  gmailTokens?: GmailTokenCache;
}

interface BuildArgs<S, K> {
  sender: AdapterSender;
  settings: S;
  credentials: K;
  deps: AdapterDeps;
}

/** One provider's entry in the registry. */
export interface ProviderEntry<S extends z.ZodType = z.ZodType> {
  /** False until the provider is implemented; `create` then throws `provider_not_available`. */
  readonly available: boolean;
  /** Validates a sender's `settings` for this provider. */
  readonly settings: S;
  /**
   * Builds a new adapter for one sender. Throws `AdapterSetupError` when the provider does not
   * serve the sender's channel, is not available yet, or the settings or credentials are invalid.
   * The errors the adapter throws never carry the sender's credentials (`withRedactedErrors`).
   */
  create(sender: AdapterSender, credentials: unknown, deps: AdapterDeps): AnyChannelAdapter;
}

function defineProvider<S extends z.ZodType, K extends z.ZodType>(
  provider: Provider,
  spec: {
    settings: S;
    credentials: K;
    build(args: BuildArgs<z.infer<S>, z.infer<K>>): AnyChannelAdapter;
  },
): ProviderEntry<S> {
  return Object.freeze({
    available: true,
    settings: spec.settings,
    create(sender: AdapterSender, credentials: unknown, deps: AdapterDeps): AnyChannelAdapter {
      assertServes(provider, sender.channel);
      const settings = spec.settings.safeParse(sender.settings);
      if (!settings.success) {
        throw new AdapterSetupError(
          'invalid_settings',
          provider,
          `sender ${sender.id}: invalid ${provider} settings: ${z.prettifyError(settings.error)}`,
        );
      }
      const opened = spec.credentials.safeParse(credentials);
      if (!opened.success) {
        // The error lists paths only: credential values must never reach a log line.
        const paths = opened.error.issues.map((issue) => issue.path.join('.') || '(root)');
        throw new AdapterSetupError(
          'invalid_credentials',
          provider,
          `sender ${sender.id}: invalid ${provider} credentials at ${paths.join(', ')}`,
        );
      }
      const adapter = spec.build({
        sender,
        settings: settings.data,
        credentials: opened.data,
        deps,
      });
      return withRedactedErrors(adapter, secretsOf(opened.data));
    },
  });
}

function assertServes(provider: Provider, channel: Channel): void {
  if (!providerServesChannel(provider, channel)) {
    throw new AdapterSetupError(
      'channel_not_served',
      provider,
      `provider ${provider} does not serve the ${channel} channel`,
    );
  }
}

const sandbox = defineProvider('sandbox', {
  settings: sandboxSettingsSchema,
  credentials: z.unknown(),
  build: ({ sender, deps }) =>
    createSandboxAdapter({
      channel: sender.channel,
      organizationId: sender.organization_id,
      senderId: sender.id,
      outbox: deps.sandboxOutbox,
    }) as AnyChannelAdapter,
});

const waha = defineProvider('waha', {
  settings: wahaSettingsSchema,
  credentials: wahaCredentialsSchema,
  build: ({ settings, credentials, deps }) =>
    createWahaAdapter({ settings, apiKey: credentials.api_key, timeoutMs: deps.timeoutMs }),
});

const gmail = defineProvider('gmail', {
  settings: gmailSettingsSchema,
  credentials: gmailCredentialsSchema,
  build: ({ settings, credentials, deps }) =>
    createGmailAdapter({
      settings,
      credentials,
      tokenCache: deps.gmailTokens,
      timeoutMs: deps.timeoutMs,
    }),
});

const smtp = defineProvider('smtp', {
  settings: smtpSettingsSchema,
  credentials: smtpCredentialsSchema,
  build: ({ settings, credentials, deps }) =>
    createSmtpAdapter({ settings, credentials, timeoutMs: deps.timeoutMs }),
});

const twilio = defineProvider('twilio', {
  settings: twilioSettingsSchema,
  credentials: twilioCredentialsSchema,
  build: ({ settings, credentials, deps }) =>
    createTwilioAdapter({ settings, credentials, timeoutMs: deps.timeoutMs }),
});

/** Every provider, by name. The compiler refuses a provider without an entry. */
export const PROVIDER_REGISTRY = Object.freeze({
  sandbox,
  waha,
  gmail,
  smtp,
  twilio,
} satisfies { readonly [P in Provider]: ProviderEntry });

/**
 * Builds a new adapter for a sender from its provider's registry entry. Each call returns a
 * fresh adapter; none is shared between senders.
 */
export function createAdapter<C extends Channel>(
  sender: AdapterSender<C>,
  credentials: unknown,
  deps: AdapterDeps,
): ChannelAdapter<C> {
  return PROVIDER_REGISTRY[sender.provider].create(sender, credentials, deps) as ChannelAdapter<C>;
}
