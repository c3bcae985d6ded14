import { describe, expect, it } from 'vitest';
import { mediaStorageKey, sanitizeFilename } from './storage-key.ts';

describe('sanitizeFilename', () => {
  it('keeps ordinary names as they are', () => {
    expect(sanitizeFilename('photo.jpg')).toBe('photo.jpg');
    expect(sanitizeFilename('Résumé (2).png')).toBe('Résumé (2).png');
  });

  it('drops directories, traversal and leading dots', () => {
    expect(sanitizeFilename('../../etc/passwd')).toBe('passwd');
    expect(sanitizeFilename('C:\\Users\\me\\cat.webp')).toBe('cat.webp');
    expect(sanitizeFilename('..')).toBeUndefined();
    expect(sanitizeFilename('.hidden.png')).toBe('hidden.png');
    expect(sanitizeFilename('dir/')).toBeUndefined();
  });

  it('removes control and invisible characters and replaces unsafe ones', () => {
    expect(sanitizeFilename('a\u0000b\nc\u202Egnp.jpg')).toBe('ab cgnp.jpg');
    expect(sanitizeFilename('what?<is>"this"*.png')).toBe('what__is__this__.png');
    expect(sanitizeFilename('  lots   of\tspace .png ')).toBe('lots of space .png');
    expect(sanitizeFilename('\u0001\u0002')).toBeUndefined();
  });

  it('bounds the length and keeps the extension', () => {
    const long = `${'x'.repeat(300)}.jpeg`;
    const safe = sanitizeFilename(long)!;
    expect([...safe]).toHaveLength(100);
    expect(safe.endsWith('.jpeg')).toBe(true);
    expect([...sanitizeFilename('é'.repeat(150))!]).toHaveLength(100);
  });
});

describe('mediaStorageKey', () => {
  it('is shaped outbound/<org>/<UTC timestamp>-<nonce>-<safe filename>', () => {
    const now = new Date('2026-05-11T02:57:00.000Z');
    expect(mediaStorageKey('org-1', '../my photo.png', now, 'ab12cd34')).toBe(
      'outbound/org-1/20260511T025700.000Z-ab12cd34-my_photo.png',
    );
    expect(mediaStorageKey('org-1', '\u0000', now, 'ab12cd34')).toBe(
      'outbound/org-1/20260511T025700.000Z-ab12cd34-file',
    );
  });
});
