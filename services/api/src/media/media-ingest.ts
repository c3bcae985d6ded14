import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '@outbound/config';
import {
  createMediaObject,
  type Db,
  type Executor,
  type MediaObject,
  type StoredMedia,
} from '@outbound/db';
import { AppError } from '../errors/app-error.ts';
import { guardedFetch, MediaFetchError, type GuardedFetchOptions } from './guarded-fetch.ts';
import { IMAGE_TYPES, isImageType, normalizeMimetype, sniffImageType } from './image-type.ts';
import type { ImageType } from './image-type.ts';
import { mediaUrl } from './media-urls.ts';
import type { UploadedFile } from './multipart.ts';
import { mediaStorageKey, sanitizeFilename } from './storage-key.ts';

export interface MediaIngestDeps {
  /** Unused: media is stored in the caller's transaction (`store`). */
  db?: Db;
  config: Config;
  /** Hostname resolver for the guarded fetch; tests point names at local servers. */
  resolve?: GuardedFetchOptions['resolve'];
}

/** A media item as a caller lists it in a send. */
export interface MediaUrlItem {
  url: string;
  mimetype: string;
  filename?: string;
}

/**
 * Turns a caller's media into media objects Outbound holds and serves, so a provider is only
 * ever handed Outbound's own signed URL (DESIGN §7), in two steps: `fromUrls` / `fromUploads`
 * fetch and check the items and write nothing; `store` writes the checked items in the
 * transaction of the request that uses them, so a request refused after the check (a replayed
 * or reused idempotency key, a later validation failure) leaves no media object behind.
 *
 * Guarantees: every item is a JPEG, PNG or WebP by its bytes, and of the type the caller
 * declared; URLs are fetched through `guardedFetch` (https only, no private addresses, size
 * and time limits from config). Every problem is an AppError: `unprocessable` (422) for any
 * item that cannot be used, including a URL refused by the SSRF guard or one that could not be
 * fetched, with `details.problems` listing each item's index, reason and message;
 * `payload_too_large` (413) for an upload over MEDIA_MAX_BYTES; `validation_failed` (400) for
 * more than MEDIA_MAX_FILES items.
 */
export interface MediaIngest {
  fromUrls(items: readonly MediaUrlItem[]): Promise<CheckedMedia[]>;
  fromUploads(files: readonly UploadedFile[]): CheckedMedia[];
  /** Stores checked items as media objects through `db` (the request's transaction), in order. */
  store(
    db: Executor,
    organizationId: string,
    items: readonly CheckedMedia[],
  ): Promise<StoredMedia[]>;
}

/** One unusable item, as listed in an error's `details.problems`. */
export interface MediaProblem {
  index: number;
  url?: string;
  filename?: string;
  reason: string;
  message: string;
}

/** An item that passed every check, not stored yet. */
export interface CheckedMedia {
  data: Buffer;
  mimetype: ImageType;
  filename: string | null;
  sourceUrl: string | null;
}

export function createMediaIngest(deps: MediaIngestDeps): MediaIngest {
  const { config } = deps;
  const fetchOptions: GuardedFetchOptions = {
    maxBytes: config.MEDIA_MAX_BYTES,
    timeoutMs: config.MEDIA_FETCH_TIMEOUT_MS,
    allowHosts: config.MEDIA_FETCH_ALLOW_HOSTS,
    allowHttp: config.MEDIA_FETCH_ALLOW_HTTP,
    resolve: deps.resolve,
  };

  function checkCount(count: number): void {
    if (count > config.MEDIA_MAX_FILES) {
      throw AppError.of('validation_failed', `At most ${config.MEDIA_MAX_FILES} media items.`, {
        limit_files: config.MEDIA_MAX_FILES,
      });
    }
  }

  async function store(
    db: Executor,
    organizationId: string,
    items: readonly CheckedMedia[],
  ): Promise<StoredMedia[]> {
    const now = new Date();
    const rows: MediaObject[] = [];
    for (const item of items) {
      const keyName = item.filename ?? `file.${item.mimetype.slice('image/'.length)}`;
      rows.push(
        await createMediaObject(db, {
          organizationId,
          storageKey: mediaStorageKey(organizationId, keyName, now, randomBytes(4).toString('hex')),
          sha256: createHash('sha256').update(item.data).digest('hex'),
          sizeBytes: item.data.length,
          mimetype: item.mimetype,
          filename: item.filename,
          sourceUrl: item.sourceUrl,
          data: item.data,
        }),
      );
    }
    return rows.map((row) => ({
      media_object_id: row.id,
      url: mediaUrl(config, { id: row.id, filename: row.filename }),
      mimetype: row.mimetype,
      filename: row.filename,
      sha256: row.sha256,
      size_bytes: row.size_bytes,
      storage_key: row.storage_key,
      source_url: row.source_url,
    }));
  }

  return {
    async fromUrls(items) {
      checkCount(items.length);
      const outcomes = await Promise.all(
        items.map(async (item, index): Promise<CheckedMedia | MediaProblem> => {
          const problem = (reason: string, message: string): MediaProblem => ({
            index,
            url: item.url,
            reason,
            message,
          });
          const declared = declaredType(item.mimetype);
          if (typeof declared !== 'string') return problem(declared.reason, declared.message);
          let data: Buffer;
          try {
            ({ data } = await guardedFetch(item.url, fetchOptions));
          } catch (error) {
            if (error instanceof MediaFetchError) return problem(error.reason, error.detail);
            throw error;
          }
          const verdict = checkBytes(data, declared);
          if (typeof verdict !== 'string') return problem(verdict.reason, verdict.message);
          return {
            data,
            mimetype: verdict,
            filename: cleanFilename(item.filename),
            sourceUrl: item.url,
          };
        }),
      );
      return acceptedOrThrow(outcomes);
    },

    fromUploads(files) {
      checkCount(files.length);
      const outcomes = files.map((file, index): CheckedMedia | MediaProblem => {
        const filename = cleanFilename(file.filename);
        if (file.data.length > config.MEDIA_MAX_BYTES) {
          throw AppError.of(
            'payload_too_large',
            `File "${file.filename}" is larger than ${config.MEDIA_MAX_BYTES} bytes.`,
            { index, filename: file.filename, limit_bytes: config.MEDIA_MAX_BYTES },
          );
        }
        const problem = (reason: string, message: string): MediaProblem => ({
          index,
          filename: file.filename,
          reason,
          message,
        });
        // Clients that do not know a file's type send application/octet-stream (curl does);
        // then the bytes decide. Any other declared type must be an image type they match.
        const raw = normalizeMimetype(file.mimetype);
        const declared =
          raw === '' || raw === 'application/octet-stream' ? undefined : declaredType(raw);
        if (typeof declared === 'object') return problem(declared.reason, declared.message);
        const verdict = checkBytes(file.data, declared);
        if (typeof verdict !== 'string') return problem(verdict.reason, verdict.message);
        return { data: file.data, mimetype: verdict, filename, sourceUrl: null };
      });
      return acceptedOrThrow(outcomes);
    },

    store,
  };
}

interface Refusal {
  reason: 'unsupported_type' | 'not_an_image' | 'type_mismatch';
  message: string;
}

function declaredType(mimetype: string): ImageType | Refusal {
  const normalized = normalizeMimetype(mimetype);
  return isImageType(normalized)
    ? normalized
    : { reason: 'unsupported_type', message: `${mimetype} is not one of ${typeList()}` };
}

/** The type the bytes really are, when it is an image type and the declared one (if any). */
function checkBytes(data: Buffer, declared: ImageType | undefined): ImageType | Refusal {
  const actual = sniffImageType(data);
  if (actual === undefined) {
    return { reason: 'not_an_image', message: `the content is not one of ${typeList()}` };
  }
  if (declared !== undefined && actual !== declared) {
    return {
      reason: 'type_mismatch',
      message: `declared ${declared}, but the content is ${actual}`,
    };
  }
  return actual;
}

function cleanFilename(filename: string | undefined): string | null {
  return filename === undefined ? null : (sanitizeFilename(filename) ?? null);
}

function typeList(): string {
  return IMAGE_TYPES.join(', ');
}

/** The accepted items, or one error listing every problem. */
function acceptedOrThrow(outcomes: readonly (CheckedMedia | MediaProblem)[]): CheckedMedia[] {
  const accepted: CheckedMedia[] = [];
  const problems: MediaProblem[] = [];
  for (const outcome of outcomes) {
    if ('reason' in outcome) problems.push(outcome);
    else accepted.push(outcome);
  }
  if (problems.length > 0) throw unusable(problems);
  return accepted;
}

function unusable(problems: MediaProblem[]): AppError {
  const describe = (problem: MediaProblem): string =>
    `media item ${problem.index}` +
    (problem.url === undefined ? ` ("${problem.filename}")` : ` (${problem.url})`) +
    `: ${problem.message}`;
  const count = problems.length === 1 ? '' : `${problems.length} media items; `;
  const message = `Cannot use ${count}${problems.map(describe).join('; ')}.`;
  return AppError.of('unprocessable', message, { problems });
}
