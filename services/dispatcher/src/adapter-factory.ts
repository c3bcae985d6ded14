import { type AnyChannelAdapter, createAdapter, createGmailTokenCache } from '@outbound/channels';
import { type Db, loadSenderCredentials, type SendingSender } from '@outbound/db';
import type { CredentialsCipher } from '@outbound/domain';
import { createSandboxOutbox } from './sandbox-outbox.ts';

/**
 * Builds a fresh adapter for a sender, with its credentials opened; throws `AdapterSetupError`
 * when it cannot. Tests pass their own to put a fake provider behind a sender.
 */
export type AdapterFactory = (sender: SendingSender) => Promise<AnyChannelAdapter>;

/** How long a built adapter is reused at most, even if its sender row seems unchanged. */
const ADAPTER_CACHE_TTL_MS = 60_000;

export function createAdapterFactory(deps: {
  db: Db;
  cipher: CredentialsCipher;
  /** How long one provider call may take (HTTP adapters abort their request after it). */
  timeoutMs: number;
}): AdapterFactory {
  const sandboxOutbox = createSandboxOutbox(deps.db);
  // Adapters are built per delivery; Gmail access tokens outlive them, shared per process.
  const gmailTokens = createGmailTokenCache();
  return cachedPerSender(async (sender) => {
    const credentials = await loadSenderCredentials(deps.db, deps.cipher, sender.id);
    return createAdapter(sender, credentials, {
      sandboxOutbox,
      gmailTokens,
      timeoutMs: deps.timeoutMs,
    });
  });
}

/**
 * Reuses a sender's adapter while the sender row is unchanged (every change to a sender moves
 * its `updated_at`), for at most a minute: building one opens its credentials, a query and a
 * decryption per delivery otherwise. A build that fails is not kept.
 */
export function cachedPerSender(
  build: AdapterFactory,
  ttlMs = ADAPTER_CACHE_TTL_MS,
): AdapterFactory {
  const cache = new Map<
    string,
    { version: number; builtAt: number; adapter: Promise<AnyChannelAdapter> }
  >();
  return (sender) => {
    const version = sender.updated_at.getTime();
    const now = Date.now();
    const cached = cache.get(sender.id);
    if (cached !== undefined && cached.version === version && now - cached.builtAt < ttlMs) {
      return cached.adapter;
    }
    const adapter = build(sender);
    cache.set(sender.id, { version, builtAt: now, adapter });
    adapter.catch(() => {
      if (cache.get(sender.id)?.adapter === adapter) cache.delete(sender.id);
    });
    return adapter;
  };
}
