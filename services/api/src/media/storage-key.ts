const MAX_FILENAME_LENGTH = 100;
const MAX_EXTENSION_LENGTH = 10;

/**
 * A caller's filename made safe to store, show and put in a key: the last path segment only,
 * no control or invisible formatting characters, only letters, digits, spaces and `._()+,-`,
 * no leading dots, at most 100 characters (the extension kept). Undefined when nothing is
 * left.
 */
export function sanitizeFilename(raw: string): string | undefined {
  const base = raw.split(/[/\\]/).pop() ?? '';
  const cleaned = base
    .normalize('NFC')
    .replace(/[\t\n\v\f\r]/g, ' ')
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '')
    .replace(/[^\p{L}\p{M}\p{N} ._()+,-]/gu, '_')
    .replace(/\s+/gu, ' ')
    .trim()
    .replace(/^[.\s]+/u, '');
  if (cleaned === '') return undefined;
  const chars = [...cleaned];
  if (chars.length <= MAX_FILENAME_LENGTH) return cleaned;
  const dot = cleaned.lastIndexOf('.');
  const extension = dot > 0 ? [...cleaned.slice(dot)] : [];
  const kept = extension.length <= MAX_EXTENSION_LENGTH ? extension : [];
  return chars
    .slice(0, MAX_FILENAME_LENGTH - kept.length)
    .concat(kept)
    .join('');
}

/**
 * Where a media object is stored: `outbound/<organization id>/<UTC timestamp>-<nonce>-<name>`,
 * e.g. `outbound/0196…/20260511T025700.000Z-3fa2c1d0-photo_1.jpg`. The nonce keeps keys unique
 * when one organization stores the same filename twice in a millisecond (several files named
 * `image.jpg` in one request, or concurrent retries of one request).
 */
export function mediaStorageKey(
  organizationId: string,
  filename: string,
  now: Date,
  nonce: string,
): string {
  const timestamp = now.toISOString().replace(/[-:]/g, '');
  const name = (sanitizeFilename(filename) ?? 'file').replace(/ /g, '_');
  return `outbound/${organizationId}/${timestamp}-${nonce}-${name}`;
}
