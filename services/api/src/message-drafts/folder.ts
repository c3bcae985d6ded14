/** The folder of a draft saved without one. */
export const DEFAULT_FOLDER = 'drafts';

/**
 * A folder name as drafts store it: lowercase ASCII letters and digits in words joined by
 * single hyphens (`Sales Follow-up` → `sales-follow-up`, `Café_Leads` → `cafe-leads`). Accents
 * are dropped; every other run of characters becomes one hyphen. Empty when the name has no
 * letter or digit left.
 */
export function normalizeFolder(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
