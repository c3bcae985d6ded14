import type { Selectable } from 'kysely';
import { newId } from '@outbound/domain';
import type { MediaObjectsTable } from '../database.ts';
import type { Executor } from './executor.ts';

/** A stored media object, bytes included. */
export type MediaObject = Selectable<MediaObjectsTable>;

export interface CreateMediaObjectOptions {
  organizationId: string;
  /** Unique across all objects; see `mediaStorageKey` in the API for its shape. */
  storageKey: string;
  /** Lowercase hex SHA-256 of `data`. */
  sha256: string;
  sizeBytes: number;
  mimetype: string;
  filename: string | null;
  /** The caller's URL when the bytes were fetched from one. */
  sourceUrl: string | null;
  data: Buffer;
}

/** Stores a media object's bytes and metadata and returns the row. */
export async function createMediaObject(
  db: Executor,
  options: CreateMediaObjectOptions,
): Promise<MediaObject> {
  return db
    .insertInto('media_objects')
    .values({
      id: newId(),
      organization_id: options.organizationId,
      storage_key: options.storageKey,
      sha256: options.sha256,
      size_bytes: options.sizeBytes,
      mimetype: options.mimetype,
      filename: options.filename,
      source_url: options.sourceUrl,
      data: options.data,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * A media object by id, bytes included, whatever its organization: the media route finds
 * objects by the id in a signed URL, which already proves the service handed that id out.
 */
export async function findMediaObject(db: Executor, id: string): Promise<MediaObject | undefined> {
  return db.selectFrom('media_objects').selectAll().where('id', '=', id).executeTakeFirst();
}
