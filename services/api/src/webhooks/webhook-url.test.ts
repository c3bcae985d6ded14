import { describe, expect, it } from 'vitest';
import { AppError } from '../errors/app-error.ts';
import { checkWebhookUrl, type WebhookUrlConfig } from './webhook-url.ts';

const strict: WebhookUrlConfig = { WEBHOOK_ALLOW_HOSTS: [], WEBHOOK_ALLOW_HTTP: false };
const resolvingTo =
  (...addresses: string[]) =>
  () =>
    Promise.resolve(addresses);

async function refusal(
  url: string,
  config: WebhookUrlConfig,
  resolve?: (hostname: string) => Promise<string[]>,
): Promise<{ code: string; message: string } | undefined> {
  try {
    await checkWebhookUrl(url, config, resolve);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    const [issue] = (error as AppError).details?.issues as { code: string; message: string }[];
    return issue;
  }
}

describe('checkWebhookUrl', () => {
  it('refuses a name that resolves to a private address, without naming the address', async () => {
    const issue = await refusal(
      'https://hooks.example.com/in',
      strict,
      resolvingTo('93.184.216.34', '10.1.2.3'),
    );
    expect(issue?.code).toBe('private_address');
    expect(issue?.message).not.toContain('10.1.2.3');
    expect(
      await refusal('https://hooks.example.com/in', strict, resolvingTo('::ffff:169.254.169.254')),
    ).toMatchObject({ code: 'private_address' });
  });

  it('accepts a name that resolves to public addresses only, or not at all (yet)', async () => {
    expect(
      await refusal('https://hooks.example.com/in', strict, resolvingTo('93.184.216.34')),
    ).toBeUndefined();
    const failing = () => Promise.reject(new Error('ENOTFOUND'));
    expect(await refusal('https://hooks.example.com/in', strict, failing)).toBeUndefined();
  });

  it('refuses http unless allowed, and credentials in the URL always', async () => {
    expect(await refusal('http://93.184.216.34/in', strict)).toMatchObject({ code: 'not_https' });
    const http = { ...strict, WEBHOOK_ALLOW_HTTP: true };
    expect(await refusal('http://93.184.216.34/in', http)).toBeUndefined();
    expect(await refusal('https://me:pw@93.184.216.34/in', http)).toMatchObject({
      code: 'credentials_in_url',
    });
  });

  it('lets an allow-listed host through the address check, and only that host', async () => {
    const loopback = { WEBHOOK_ALLOW_HOSTS: ['127.0.0.1'], WEBHOOK_ALLOW_HTTP: true };
    expect(await refusal('http://127.0.0.1:9/in', loopback)).toBeUndefined();
    expect(await refusal('http://127.0.0.2:9/in', loopback)).toMatchObject({
      code: 'private_address',
    });
  });
});
