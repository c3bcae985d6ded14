import type { Config } from '@outbound/config';
import { findMediaObject, type Db } from '@outbound/db';
import { z } from 'zod';
import { AppError } from '../errors/app-error.ts';
import { errorResponseSchema } from '../errors/error-response.schema.ts';
import { verifyMediaSignature } from '../media/media-urls.ts';
import { defineRoute, type Route } from '../routing/route.ts';
import { MEDIA_MIMETYPES } from './sends.schema.ts';

/** Media objects never change under an id, so a provider may keep one a day. */
export const MEDIA_MAX_AGE_SECONDS = 86_400;

/**
 * `GET /media/{media_id}/{filename}?sig=…`: the bytes of a media object, for the providers that
 * fetch a URL. No API key: the signature is the credential. A bad signature and an unknown id
 * both answer 404, so a URL cannot be used to probe which ids exist.
 */
export function mediaRoutes(deps: { db: Db; config: Config }): Route[] {
  const serve = defineRoute({
    method: 'get',
    path: '/media/{media_id}/{filename}',
    operationId: 'getMediaObject',
    summary: 'A stored media object, by signed URL',
    description: 'The URL Outbound hands to providers. `sig` signs the id; `filename` is cosmetic.',
    tags: ['media'],
    auth: 'none',
    request: {
      params: z.object({ media_id: z.uuid(), filename: z.string().max(255) }),
      query: z.object({ sig: z.string().min(1).max(128) }),
    },
    responses: {
      200: {
        description: 'The bytes, with their stored Content-Type.',
        binary: { contentTypes: MEDIA_MIMETYPES },
      },
      404: { description: 'Unknown id or bad signature.', schema: errorResponseSchema },
    },
  }).handle(async ({ params, query }) => {
    const notFound = AppError.of('not_found', `media ${params.media_id} not found`);
    if (!verifyMediaSignature(deps.config, params.media_id, query.sig)) throw notFound;
    const media = await findMediaObject(deps.db, params.media_id);
    if (media === undefined) throw notFound;
    return {
      status: 200,
      body: media.data,
      contentType: media.mimetype,
      headers: {
        'Cache-Control': `private, max-age=${MEDIA_MAX_AGE_SECONDS}`,
        'X-Content-Type-Options': 'nosniff',
      },
    };
  });
  return [serve];
}
