import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mediaUrl, verifyMediaSignature, type MediaUrlConfig } from './media-urls.ts';

const config: MediaUrlConfig = {
  PUBLIC_BASE_URL: 'https://outbound.example.com/',
  CREDENTIALS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
};
const id = '0196b5c2-7a1e-7000-8000-000000000001';

function signatureOf(url: string): string {
  return new URL(url).searchParams.get('sig') ?? '';
}

describe('media URLs', () => {
  it('points at the media route under the public base URL', () => {
    const url = mediaUrl(config, { id, filename: 'photo 1.png' });
    expect(url).toMatch(
      new RegExp(`^https://outbound\\.example\\.com/media/${id}/photo%201\\.png\\?sig=[\\w-]{43}$`),
    );
    expect(mediaUrl(config, { id, filename: null })).toContain(`/media/${id}/file?sig=`);
  });

  it('verifies its own signature and nothing else', () => {
    const sig = signatureOf(mediaUrl(config, { id, filename: null }));
    expect(verifyMediaSignature(config, id, sig)).toBe(true);

    const flipped = `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`;
    expect(verifyMediaSignature(config, id, flipped)).toBe(false);
    expect(verifyMediaSignature(config, id, `${sig}=`)).toBe(false);
    expect(verifyMediaSignature(config, id, sig.slice(0, -1))).toBe(false);
    expect(verifyMediaSignature(config, id, '')).toBe(false);
    expect(verifyMediaSignature(config, id.replace(/1$/, '2'), sig)).toBe(false);
  });

  it('signs the id alone, so the filename does not change the signature', () => {
    const a = signatureOf(mediaUrl(config, { id, filename: 'a.png' }));
    const b = signatureOf(mediaUrl(config, { id, filename: 'b.png' }));
    expect(a).toBe(b);
  });

  it('depends on the key', () => {
    const other = { ...config, CREDENTIALS_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    const sig = signatureOf(mediaUrl(config, { id, filename: null }));
    expect(verifyMediaSignature(other, id, sig)).toBe(false);
    expect(signatureOf(mediaUrl(other, { id, filename: null }))).not.toBe(sig);
  });
});
