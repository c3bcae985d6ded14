import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { providerSchema, type Channel, type Provider } from '@outbound/domain';
import { AdapterSetupError } from './delivery-errors.ts';
import { createAdapter, PROVIDER_REGISTRY, type AdapterDeps } from './provider-registry.ts';

const recorded: string[] = [];
const deps: AdapterDeps = {
  sandboxOutbox: {
    record: (entry) => {
      recorded.push(entry.recipient);
      return Promise.resolve(randomUUID());
    },
  },
};

function sender(provider: Provider, channel: Channel, settings: unknown = {}) {
  return { id: randomUUID(), organization_id: randomUUID(), channel, provider, settings };
}

function setupError(build: () => unknown): AdapterSetupError {
  try {
    build();
  } catch (error) {
    if (error instanceof AdapterSetupError) return error;
    throw error;
  }
  throw new Error('expected an AdapterSetupError');
}

describe('provider registry', () => {
  it('has an entry for every provider', () => {
    expect(Object.keys(PROVIDER_REGISTRY).sort()).toEqual([...providerSchema.options].sort());
  });

  it('builds a sandbox adapter for every channel, each a new object', async () => {
    for (const channel of ['whatsapp', 'email', 'sms'] as const) {
      const a = createAdapter(sender('sandbox', channel), undefined, deps);
      const b = createAdapter(sender('sandbox', channel), undefined, deps);
      expect(a.channel).toBe(channel);
      expect(a.provider).toBe('sandbox');
      expect(a).not.toBe(b);
      expect(Object.isFrozen(a)).toBe(true);
    }
    const sms = createAdapter(sender('sandbox', 'sms'), undefined, deps);
    await sms.send({ message: { channel: 'sms', to: '+14155550100', text: 'hi' }, attempt: 1 });
    expect(recorded).toContain('+14155550100');
  });

  it('builds a waha adapter for a whatsapp sender with valid settings', () => {
    expect(PROVIDER_REGISTRY.waha.available).toBe(true);
    const settings = { base_url: 'http://waha.internal:3000' };
    const adapter = createAdapter(sender('waha', 'whatsapp', settings), { api_key: 'k' }, deps);
    expect(adapter).toMatchObject({ channel: 'whatsapp', provider: 'waha' });
    expect(Object.isFrozen(adapter)).toBe(true);
  });

  it.each(['gmail', 'smtp', 'twilio'] as const)(
    'refuses to build %s until it is implemented',
    (provider) => {
      const channel = provider === 'twilio' ? 'sms' : 'email';
      expect(PROVIDER_REGISTRY[provider].available).toBe(false);
      const error = setupError(() => createAdapter(sender(provider, channel), {}, deps));
      expect(error.code).toBe('provider_not_available');
      expect(error.message).toContain(`provider ${provider} is not available yet`);
    },
  );

  it('refuses a provider on a channel it does not serve', () => {
    const error = setupError(() => createAdapter(sender('twilio', 'whatsapp'), {}, deps));
    expect(error).toMatchObject({ code: 'channel_not_served', provider: 'twilio' });
  });

  it('refuses settings its provider schema rejects', () => {
    const error = setupError(() =>
      createAdapter(sender('sandbox', 'email', 'not an object'), undefined, deps),
    );
    expect(error.code).toBe('invalid_settings');
  });
});
