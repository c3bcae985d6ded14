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

  it('builds a twilio adapter for an sms sender, from a number or a Messaging Service', () => {
    expect(PROVIDER_REGISTRY.twilio.available).toBe(true);
    const accountSid = `AC${'0'.repeat(32)}`;
    const fromNumber = { account_sid: accountSid, from: '+14155550100' };
    const fromService = { account_sid: accountSid, messaging_service_sid: `MG${'a'.repeat(32)}` };
    for (const settings of [fromNumber, fromService]) {
      const adapter = createAdapter(sender('twilio', 'sms', settings), { auth_token: 't' }, deps);
      expect(adapter).toMatchObject({ channel: 'sms', provider: 'twilio' });
      expect(Object.isFrozen(adapter)).toBe(true);
    }
    const error = setupError(() =>
      createAdapter(
        sender('twilio', 'sms', { account_sid: accountSid }),
        { auth_token: 't' },
        deps,
      ),
    );
    expect(error).toMatchObject({ code: 'invalid_settings', provider: 'twilio' });
    expect(error.message).toContain('exactly one of from and messaging_service_sid');
  });

  const gmailCredentials = {
    client_id: 'id',
    client_secret: 'secret-s3',
    refresh_token: 'refresh-r3',
  };

  it("builds a gmail adapter whose settings default to Google's endpoints", () => {
    expect(PROVIDER_REGISTRY.gmail.available).toBe(true);
    expect(PROVIDER_REGISTRY.gmail.settings.parse({})).toEqual({
      token_url: 'https://oauth2.googleapis.com/token',
      api_base_url: 'https://gmail.googleapis.com',
    });
    const adapter = createAdapter(sender('gmail', 'email'), gmailCredentials, deps);
    expect(adapter).toMatchObject({ channel: 'email', provider: 'gmail' });
    expect(Object.isFrozen(adapter)).toBe(true);
  });

  it('builds an smtp adapter, the port defaulting to the TLS mode', () => {
    expect(PROVIDER_REGISTRY.smtp.available).toBe(true);
    const parse = (settings: unknown) => PROVIDER_REGISTRY.smtp.settings.parse(settings);
    expect(parse({ host: 'smtp.example.com' })).toEqual({
      host: 'smtp.example.com',
      tls: 'starttls',
      port: 587,
    });
    expect(parse({ host: 'smtp.example.com', tls: 'tls' }).port).toBe(465);
    expect(parse({ host: '10.0.0.5', tls: 'none' }).port).toBe(25);
    expect(parse({ host: 'smtp.example.com', tls: 'none', port: 2525 }).port).toBe(2525);
    const settings = { host: 'smtp.example.com' };
    const withLogin = createAdapter(
      sender('smtp', 'email', settings),
      { user: 'u', password: 'p' },
      deps,
    );
    expect(withLogin).toMatchObject({ channel: 'email', provider: 'smtp' });
    expect(createAdapter(sender('smtp', 'email', settings), null, deps).provider).toBe('smtp');
  });

  it.each([
    ['smtp', { host: 'smtp://smtp.example.com' }],
    ['smtp', { host: 'smtp.example.com', tls: 'ssl' }],
    ['smtp', { host: 'smtp.example.com', port: 70_000 }],
    ['smtp', { host: 'smtp.example.com', tls_ca: 'not a certificate' }],
    ['gmail', { token_url: 'ftp://oauth2.googleapis.com/token' }],
    ['gmail', { api_base_url: 'https://user:pw@gmail.googleapis.com' }],
  ] as const)('refuses %s settings %j as invalid_settings', (provider, settings) => {
    const credentials = provider === 'gmail' ? gmailCredentials : undefined;
    const error = setupError(() =>
      createAdapter(sender(provider, 'email', settings), credentials, deps),
    );
    expect(error).toMatchObject({ code: 'invalid_settings', provider });
  });

  it.each([
    ['gmail', {}, { client_id: 'id', client_secret: 'secret-s3' }],
    ['smtp', { host: 'smtp.example.com' }, { user: 'u', password: 12345678 }],
  ] as const)(
    'refuses incomplete %s credentials without showing them',
    (provider, settings, credentials) => {
      const error = setupError(() =>
        createAdapter(sender(provider, 'email', settings), credentials, deps),
      );
      expect(error).toMatchObject({ code: 'invalid_credentials', provider });
      expect(error.message).not.toMatch(/secret-s3|12345678/);
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
