/** The image types Outbound accepts as media. */
export type ImageType = 'image/jpeg' | 'image/png' | 'image/webp';

export const IMAGE_TYPES: readonly ImageType[] = ['image/jpeg', 'image/png', 'image/webp'];

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * The image type the bytes really are, from their magic bytes, or undefined for anything
 * else. It checks only the signature, not that the rest of the file decodes.
 */
export function sniffImageType(data: Buffer): ImageType | undefined {
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) {
    return 'image/jpeg';
  }
  if (data.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) return 'image/png';
  if (
    data.length >= 12 &&
    data.toString('latin1', 0, 4) === 'RIFF' &&
    data.toString('latin1', 8, 12) === 'WEBP'
  ) {
    return 'image/webp';
  }
  return undefined;
}

/**
 * A declared mimetype in canonical form: lowercase, without parameters, and the common
 * `image/jpg` alias folded into `image/jpeg`.
 */
export function normalizeMimetype(mimetype: string): string {
  const bare = (mimetype.split(';')[0] ?? '').trim().toLowerCase();
  return bare === 'image/jpg' || bare === 'image/pjpeg' ? 'image/jpeg' : bare;
}

export function isImageType(mimetype: string): mimetype is ImageType {
  return (IMAGE_TYPES as readonly string[]).includes(mimetype);
}
