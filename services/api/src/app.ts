import express, { type Express } from 'express';
import type { Config, Logger } from '@outbound/config';
import type { Db } from '@outbound/db';
import type { Queues } from '@outbound/queue';
import type { Redis } from 'ioredis';
import packageJson from '../package.json' with { type: 'json' };
import { basicAuth, type AdminAuth } from './admin/basic-auth.middleware.ts';
import { bullBoardRouter } from './admin/bull-board.ts';
import { apiKeyAuth } from './auth/api-key-auth.middleware.ts';
import { DOCS_ASSETS_PATH, docsAssets } from './docs/docs-page.ts';
import { AppError } from './errors/app-error.ts';
import { errorHandler, notFound } from './errors/error.middleware.ts';
import { accessLog } from './http/access-log.middleware.ts';
import { createApiMetrics, type ApiMetrics } from './http/api-metrics.ts';
import { apiRateLimit } from './http/api-rate-limit.middleware.ts';
import { requestId } from './http/request-id.middleware.ts';
import { labelRoute, requestMetrics } from './http/request-metrics.middleware.ts';
import { createMediaIngest } from './media/media-ingest.ts';
import { conversationsRoutes } from './routes/conversations.routes.ts';
import { docsRoutes } from './routes/docs.routes.ts';
import { draftsRoutes } from './routes/drafts.routes.ts';
import {
  EMAIL_DRAFTS_PATH,
  emailDraftsJsonParser,
  emailDraftsRoutes,
} from './routes/email-drafts.routes.ts';
import { groupsRoutes } from './routes/groups.routes.ts';
import { healthRoutes } from './routes/health.routes.ts';
import { mediaRoutes } from './routes/media.routes.ts';
import { meRoutes } from './routes/me.routes.ts';
import { messageDraftsRoutes } from './routes/message-drafts.routes.ts';
import { metricsRoutes } from './routes/metrics.routes.ts';
import { openApiRoutes } from './routes/openapi.routes.ts';
import { REFERENCE_EXAMPLES } from './routes/reference-examples.ts';
import { sandboxRoutes } from './routes/sandbox.routes.ts';
import { schedulesRoutes } from './routes/schedules.routes.ts';
import { sendsRoutes } from './routes/sends.routes.ts';
import { sessionsRoutes } from './routes/sessions.routes.ts';
import { webhooksRoutes } from './routes/webhooks.routes.ts';
import { mountRoutes } from './routing/mount-routes.ts';
import { buildOpenApiDocument, type OpenApiDocument } from './routing/openapi-document.ts';
import type { Route } from './routing/route.ts';

export const ADMIN_QUEUES_PATH = '/admin/queues';

/** Everything the API needs from outside; `main.ts` builds these, tests pass their own. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  db: Db;
  queues: Queues;
  /** Pinged by `/readyz`; the producer connection the queues use. */
  redis: Redis;
  /** Credentials for Bull Board at `/admin/queues`; without them the board refuses everyone. */
  adminAuth?: AdminAuth;
  /** What `/metrics` shows; a registry of the app's own (with process metrics) when omitted. */
  metrics?: ApiMetrics;
}

export interface AppOptions {
  /** How long Postgres and Redis each have to answer `/readyz`; 1000 ms by default. */
  readinessTimeoutMs?: number;
  /** More routes, declared like the built-in ones (and so in the document too). */
  routes?: readonly Route[];
}

/** The Express app: middleware, every declared route, Bull Board, and the one error handler. */
export function createApp(deps: AppDeps, options: AppOptions = {}): Express {
  const { config, logger, db } = deps;
  const app = express();
  app.disable('x-powered-by');
  const metrics = deps.metrics ?? createApiMetrics();
  app.use(requestId());
  app.use(requestMetrics(metrics));
  app.use(accessLog(logger));

  if (deps.adminAuth !== undefined) {
    app.use(
      ADMIN_QUEUES_PATH,
      labelRoute(ADMIN_QUEUES_PATH),
      basicAuth(deps.adminAuth, 'outbound admin'),
      bullBoardRouter(deps.queues, ADMIN_QUEUES_PATH),
    );
  } else {
    app.use(ADMIN_QUEUES_PATH, labelRoute(ADMIN_QUEUES_PATH), () => {
      throw AppError.of(
        'forbidden',
        'Bull Board is disabled: set ADMIN_USERNAME and ADMIN_PASSWORD to open it',
      );
    });
  }

  app.use(DOCS_ASSETS_PATH, labelRoute(DOCS_ASSETS_PATH), docsAssets());
  app.use(EMAIL_DRAFTS_PATH, emailDraftsJsonParser(config));
  app.use(express.json({ limit: config.JSON_BODY_LIMIT }));

  let document: OpenApiDocument | undefined;
  const routes: Route[] = [
    ...healthRoutes({
      db,
      redis: deps.redis,
      logger,
      timeoutMs: options.readinessTimeoutMs ?? 1_000,
    }),
    ...openApiRoutes(
      () =>
        (document ??= buildOpenApiDocument(routes, openApiInfo, { examples: REFERENCE_EXAMPLES })),
    ),
    ...docsRoutes(openApiInfo.title),
    ...metricsRoutes(metrics.registry),
    ...meRoutes(),
    ...sendsRoutes({
      db,
      config,
      queues: deps.queues,
      mediaIngest: createMediaIngest({ db, config }),
    }),
    ...schedulesRoutes({ db, queues: deps.queues }),
    ...sessionsRoutes({ db }),
    ...groupsRoutes({ db }),
    ...sandboxRoutes({ db }),
    ...mediaRoutes({ db, config }),
    ...draftsRoutes({ db, config }),
    ...emailDraftsRoutes({ db, config, queues: deps.queues }),
    ...messageDraftsRoutes({ db, queues: deps.queues }),
    ...conversationsRoutes({ db }),
    ...webhooksRoutes({ db, config }),
    ...(options.routes ?? []),
  ];
  const router = express.Router();
  mountRoutes(router, routes, {
    authenticate: apiKeyAuth(db),
    rateLimit:
      config.API_RATE_LIMIT_REQUESTS === 0
        ? undefined
        : apiRateLimit({
            redis: deps.redis,
            prefix: config.QUEUE_PREFIX,
            requests: config.API_RATE_LIMIT_REQUESTS,
            windowSeconds: config.API_RATE_LIMIT_WINDOW_SECONDS,
            logger,
          }),
  });
  app.use(router);

  app.use(notFound());
  app.use(errorHandler(logger));
  return app;
}

const openApiInfo = {
  title: 'Outbound API',
  version: packageJson.version,
  description: 'Drafts and sends of outbound WhatsApp, email and SMS messages.',
};
