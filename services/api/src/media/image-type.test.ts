import { describe, expect, it } from 'vitest';
import { normalizeMimetype, sniffImageType } from './image-type.ts';
import { TINY_JPEG, TINY_PNG, TINY_WEBP } from './test-images.ts';

describe('sniffImageType', () => {
  it('recognises JPEG, PNG and WebP by their magic bytes', () => {
    expect(sniffImageType(TINY_JPEG)).toBe('image/jpeg');
    expect(sniffImageType(TINY_PNG)).toBe('image/png');
    expect(sniffImageType(TINY_WEBP)).toBe('image/webp');
  });

  it('refuses everything else, including truncated signatures', () => {
    expect(sniffImageType(Buffer.from('hello, world'))).toBeUndefined();
    expect(sniffImageType(Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'))).toBeUndefined();
    expect(
      sniffImageType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')),
    ).toBeUndefined();
    expect(sniffImageType(Buffer.from('RIFF\x00\x00\x00\x00WAVE', 'latin1'))).toBeUndefined();
    expect(sniffImageType(Buffer.alloc(0))).toBeUndefined();
    expect(sniffImageType(TINY_JPEG.subarray(0, 2))).toBeUndefined();
    expect(sniffImageType(TINY_PNG.subarray(0, 7))).toBeUndefined();
    expect(sniffImageType(TINY_WEBP.subarray(0, 11))).toBeUndefined();
  });

  it('normalises declared mimetypes', () => {
    expect(normalizeMimetype('Image/JPG')).toBe('image/jpeg');
    expect(normalizeMimetype('image/png; charset=binary')).toBe('image/png');
  });
});
