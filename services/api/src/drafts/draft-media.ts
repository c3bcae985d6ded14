import { isIP } from 'node:net';
import type { Config } from '@outbound/config';
import { findMediaForDrafts, type Db, type WhatsappDraftMedia } from '@outbound/db';
import { isUuid } from '@outbound/domain';
import { isLocalhostName, refusedRange } from '@outbound/net-guard';
import { AppError } from '../errors/app-error.ts';
import type { MediaProblem, MediaUrlItem } from '../media/media-ingest.ts';
import { verifyMediaSignature, type MediaUrlConfig } from '../media/media-urls.ts';

/** Where a caller's URL points: elsewhere, at one of Outbound's media objects, or nowhere valid. */
type UrlTarget = { kind: 'external' } | { kind: 'outbound'; mediaId: string } | { kind: 'invalid' };

/**
 * Reads a URL as `mediaUrl` makes them: `{PUBLIC_BASE_URL}/media/{id}/{filename}?sig=…`. A URL
 * under our media path without a valid id and signature is `invalid`, not external: it was
 * meant to be ours, and keeping it would only fail later.
 */
export function outboundMediaTarget(config: MediaUrlConfig, url: string): UrlTarget {
  const base = new URL(config.PUBLIC_BASE_URL);
  const given = URL.parse(url);
  const prefix = `${base.pathname.replace(/\/+$/, '')}/media/`;
  if (given === null || given.origin !== base.origin || !given.pathname.startsWith(prefix)) {
    return { kind: 'external' };
  }
  const segments = given.pathname.slice(prefix.length).split('/');
  const mediaId = safeDecode(segments[0] ?? '');
  const sig = given.searchParams.get('sig');
  if (
    segments.length !== 2 ||
    mediaId === undefined ||
    !isUuid(mediaId) ||
    sig === null ||
    !verifyMediaSignature(config, mediaId, sig)
  ) {
    return { kind: 'invalid' };
  }
  return { kind: 'outbound', mediaId };
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** What a draft's media check needs: media URLs, and the hosts exempt from the address check. */
export type DraftMediaConfig = MediaUrlConfig & Pick<Config, 'MEDIA_FETCH_ALLOW_HOSTS'>;

/**
 * True when an external URL names, without any DNS lookup, a host the guarded fetch would
 * refuse: an IP literal in a private or reserved range (in any spelling the URL parser
 * normalises, such as `2130706433` or `0177.0.0.1`) or a `localhost` name. Names that only
 * resolve to such addresses are caught when the media is fetched.
 */
function namesPrivateHost(config: DraftMediaConfig, url: string): boolean {
  const parsed = URL.parse(url);
  if (parsed === null) return false;
  const host = parsed.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (config.MEDIA_FETCH_ALLOW_HOSTS.includes(host)) return false;
  if (isLocalhostName(host)) return true;
  return isIP(host) !== 0 && refusedRange(host) !== undefined;
}

/**
 * The media a draft keeps, in order. Nothing is fetched: an external URL is kept with its
 * `mimetype` and `filename`; one of Outbound's media URLs also gets the object's `sha256`,
 * `size_bytes` and `storage_key` (and its filename when the caller gave none). Throws 422
 * `unprocessable` listing every item (`details.problems`) whose Outbound URL has a bad
 * signature, names no media object of the organization, or declares another type, and every
 * external URL that names a private host (see `namesPrivateHost`).
 */
export async function resolveDraftMedia(
  deps: { db: Db; config: DraftMediaConfig },
  organizationId: string,
  items: readonly MediaUrlItem[],
): Promise<WhatsappDraftMedia[]> {
  const targets = items.map((item) => outboundMediaTarget(deps.config, item.url));
  const ids = targets.flatMap((target) => (target.kind === 'outbound' ? [target.mediaId] : []));
  const objects = new Map(
    (await findMediaForDrafts(deps.db, organizationId, [...new Set(ids)])).map((object) => [
      object.id,
      object,
    ]),
  );

  const problems: MediaProblem[] = [];
  const media = items.map((item, index): WhatsappDraftMedia => {
    const given: WhatsappDraftMedia = {
      url: item.url,
      mimetype: item.mimetype,
      ...(item.filename === undefined ? {} : { filename: item.filename }),
    };
    const target = targets[index];
    const problem = (reason: string, message: string): WhatsappDraftMedia => {
      problems.push({ index, url: item.url, reason, message });
      return given;
    };
    if (target === undefined || target.kind === 'external') {
      return namesPrivateHost(deps.config, item.url)
        ? problem('private_address', 'names a private or reserved address, which is refused')
        : given;
    }
    if (target.kind === 'invalid') {
      return problem('invalid_media_url', 'not a valid Outbound media URL (bad id or signature)');
    }
    const object = objects.get(target.mediaId);
    if (object === undefined) {
      return problem('media_not_found', `media ${target.mediaId} not found`);
    }
    if (object.mimetype !== item.mimetype) {
      return problem(
        'type_mismatch',
        `declared ${item.mimetype}, but media ${object.id} is ${object.mimetype}`,
      );
    }
    const filename = item.filename ?? object.filename ?? undefined;
    return {
      ...given,
      ...(filename === undefined ? {} : { filename }),
      sha256: object.sha256,
      size_bytes: object.size_bytes,
      storage_key: object.storage_key,
      media_object_id: object.id,
    };
  });
  if (problems.length > 0) {
    throw AppError.of(
      'unprocessable',
      `media cannot be kept with the draft: ${problems
        .map((problem) => `media.${problem.index}: ${problem.message}`)
        .join('; ')}`,
      { problems },
    );
  }
  return media;
}
