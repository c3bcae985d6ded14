import { type AnyChannelAdapter, createAdapter, createGmailTokenCache } from '@outbound/channels';
import { type Db, loadSenderCredentials, type SendingSender } from '@outbound/db';
import type { CredentialsCipher } from '@outbound/domain';
import { createSandboxOutbox } from './sandbox-outbox.ts';

/**
 * Builds a fresh adapter for a sender, with its credentials opened; throws `AdapterSetupError`
 * when it cannot. Tests pass their own to put a fake provider behind a sender.
 */
export type AdapterFactory = (sender: SendingSender) => Promise<AnyChannelAdapter>;

export function createAdapterFactory(deps: {
  db: Db;
  cipher: CredentialsCipher;
  /** How long one provider call may take (HTTP adapters abort their request after it). */
  timeoutMs: number;
}): AdapterFactory {
  const sandboxOutbox = createSandboxOutbox(deps.db);
  // Adapters are built per delivery; Gmail access tokens outlive them, shared per process.
  const gmailTokens = createGmailTokenCache();
  return async (sender) => {
    const credentials = await loadSenderCredentials(deps.db, deps.cipher, sender.id);
    return createAdapter(sender, credentials, {
      sandboxOutbox,
      gmailTokens,
      timeoutMs: deps.timeoutMs,
    });
  };
}
