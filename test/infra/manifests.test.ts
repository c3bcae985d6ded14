import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { envSchema, loadConfig } from '@outbound/config';
import { DISPATCHER_HTTP_PATHS } from '@outbound/dispatcher';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
} from '../support/harness.ts';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.ts';
import { dispatcherHttpUrl } from '../support/stack.ts';

/**
 * Every deployable description (infra/docker-compose.yml and infra/k8s/*.yaml) checked against
 * what exists: probes against the routes the API and the dispatcher really serve, commands
 * against the image's
 * entrypoint and the files it runs, environment names against the config schema, and the
 * graceful-stop budgets against the longest delivery the configuration allows.
 */

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const read = (path: string) => readFileSync(root(path), 'utf8');

type Json = Record<string, unknown>;
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: { cpu?: string; memory?: string } };
}
interface Probe {
  httpGet?: { path: string; port: number | string };
  exec?: { command: string[] };
  tcpSocket?: { port: number | string };
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  restartPolicy?: string;
}
interface Manifest {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Json;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  resources?: string[];
}

const K8S_DIR = 'infra/k8s';
const k8sFiles = readdirSync(root(K8S_DIR)).filter((file) => /\.ya?ml$/.test(file));
const manifests: (Manifest & { file: string })[] = k8sFiles.flatMap((file) =>
  parseAllDocuments(read(`${K8S_DIR}/${file}`)).map((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.join('; ')}`);
    return { ...(document.toJS() as Manifest), file };
  }),
);
const compose = parse(read('infra/docker-compose.yml'), { merge: true }) as {
  services: Record<string, Json>;
};

const byKind = (kind: string) => manifests.filter((manifest) => manifest.kind === kind);
const named = (kind: string, name: string) => {
  const found = byKind(kind).find((manifest) => manifest.metadata.name === name);
  expect(found, `${kind} ${name}`).toBeDefined();
  return found!;
};
const podSpecOf = (manifest: Manifest): PodSpec => {
  const template = (manifest.spec as { template: { spec: PodSpec } }).template;
  return template.spec;
};
const workloads = () => [...byKind('Deployment'), ...byKind('Job')];
const outboundContainers = () =>
  workloads().flatMap((workload) =>
    podSpecOf(workload)
      .containers.filter((container) => container.image.startsWith('outbound:'))
      .map((container) => ({ workload, container })),
  );

/** `name) exec node path "$@" ;;` lines of the image's entrypoint: what each command runs. */
function entrypointCommands(): Map<string, string> {
  const script = read('infra/docker-entrypoint.sh');
  return new Map(
    [...script.matchAll(/^\s*([a-z-]+)\) exec node (\S+) "\$@" ;;$/gm)].map((match) => [
      match[1]!,
      match[2]!,
    ]),
  );
}

/** The image: its entrypoint is that script, and it holds the repository minus .dockerignore. */
function imageFacts() {
  const dockerfile = read('infra/Dockerfile');
  const ignored = read('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const runtimeBase = [...dockerfile.matchAll(/^FROM (\S+)/gm)].at(-1)?.[1];
  return { dockerfile, ignored, runtimeBase };
}

/** Whether a repository path is in the image (copied whole, less .dockerignore's patterns). */
function inImage(path: string, ignored: readonly string[]): boolean {
  const parts = path.split('/');
  return ignored.every((pattern) => {
    const bare = pattern.replace(/^\*\*\//, '');
    return pattern.startsWith('**/') ? !parts.includes(bare) : !path.startsWith(bare);
  });
}

/** Commands an exec hook or probe may run: binaries of the runtime base image. */
const BASE_IMAGE_BINARIES: Readonly<Record<string, readonly string[]>> = {
  'node:24-slim': ['node', 'sleep', 'sh'],
};

/** Compose's `${VAR:-default}` and `${VAR:?error}`: the default, or what `given` provides. */
function interpolate(value: string, given: Record<string, string>): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g,
    (_, name: string, kind?: string, rest?: string) =>
      given[name] ?? (kind === '-' ? (rest ?? '') : ''),
  );
}

const VALID_SECRETS = {
  CREDENTIALS_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  ADMIN_PASSWORD: 'a-long-enough-password',
};

/** What a container's process would parse: ConfigMaps, then Secrets, then its own env. */
function containerEnv(container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef !== undefined) {
      Object.assign(env, named('ConfigMap', source.configMapRef.name).data);
    }
    if (source.secretRef !== undefined) {
      Object.assign(env, named('Secret', source.secretRef.name).stringData, VALID_SECRETS);
    }
  }
  for (const variable of container.env ?? []) env[variable.name] = variable.value ?? '';
  return env;
}

function composeEnv(service: Json): Record<string, string> {
  const environment = (service.environment ?? {}) as Record<string, string>;
  return Object.fromEntries(
    Object.entries(environment).map(([name, value]) => [
      name,
      interpolate(String(value), VALID_SECRETS),
    ]),
  );
}

const outboundServices = () =>
  Object.entries(compose.services).filter(
    ([, service]) => typeof service.image === 'string' && service.image.startsWith('outbound:'),
  );

const schemaNames = new Set(Object.keys(envSchema.shape));

describe('infra/k8s and infra/docker-compose.yml', () => {
  const redis = createTestRedis();
  let database: TestDatabase;
  let api: ServiceProcess;
  let apiUrl: string;
  let servedGets: Set<string>;
  let dispatcher: ServiceProcess;
  let dispatcherUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = testEnv(database, redis, { HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    api = startServiceProcess(root('services/api/src/main.ts'), env);
    dispatcher = startServiceProcess(root('services/dispatcher/src/main.ts'), env);
    dispatcherUrl = await dispatcherHttpUrl(dispatcher);
    await dispatcher.waitForLog((line) => line.msg === 'dispatcher ready');
    apiUrl = String((await api.waitForLog((line) => typeof line.url === 'string')).url);
    const document = (await (await fetch(`${apiUrl}/openapi.json`)).json()) as {
      paths: Record<string, Json>;
    };
    servedGets = new Set(
      Object.entries(document.paths)
        .filter(([, item]) => 'get' in item)
        .map(([path]) => path),
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all([api?.stop(), dispatcher?.stop()]);
    await database?.drop();
    await redis.clear();
  });

  it('parses, and the kustomization names files that exist (but not the Secret example)', () => {
    expect(k8sFiles).toEqual(
      expect.arrayContaining([
        'api.yaml',
        'dispatcher.yaml',
        'migrate-job.yaml',
        'configmap.yaml',
        'secret.example.yaml',
        'kustomization.yaml',
      ]),
    );
    const kustomization = byKind('Kustomization')[0]!;
    for (const resource of kustomization.resources ?? []) {
      expect(existsSync(root(`${K8S_DIR}/${resource}`)), resource).toBe(true);
    }
    expect(kustomization.resources).not.toContain('secret.example.yaml');
    expect(Object.keys(compose.services).sort()).toEqual(
      ['api', 'dispatcher', 'migrate', 'postgres', 'redis'].sort(),
    );
  });

  it('probes routes the API and the dispatcher really serve, on the ports they listen on', async () => {
    for (const name of ['outbound-api', 'outbound-dispatcher']) {
      const [container] = podSpecOf(named('Deployment', name)).containers;
      expect(container?.livenessProbe?.httpGet?.path, name).toBe('/healthz');
      expect(container?.readinessProbe?.httpGet?.path, name).toBe('/readyz');
    }
    /** What each command serves, where, and a running instance of it. */
    const serving = (container: Container) => {
      const config = loadConfig(containerEnv(container));
      return container.args?.[0] === 'dispatcher'
        ? {
            paths: new Set<string>(Object.values(DISPATCHER_HTTP_PATHS)),
            port: config.DISPATCHER_METRICS_PORT,
            url: dispatcherUrl,
          }
        : { paths: servedGets, port: config.PORT, url: apiUrl };
    };

    const httpProbes = outboundContainers().flatMap(({ container }) =>
      [container.livenessProbe, container.readinessProbe, container.startupProbe]
        .filter((probe) => probe?.httpGet !== undefined)
        .map((probe) => ({ container, httpGet: probe!.httpGet! })),
    );
    expect(httpProbes.length).toBeGreaterThanOrEqual(4);
    for (const { container, httpGet } of httpProbes) {
      const where = `${container.name} ${httpGet.path}`;
      const served = serving(container);
      expect(served.paths, where).toContain(httpGet.path);
      const probePort =
        typeof httpGet.port === 'number'
          ? httpGet.port
          : container.ports?.find((candidate) => candidate.name === httpGet.port)?.containerPort;
      expect(probePort, where).toBe(served.port);
      // And the path answers 200 on a running process.
      expect((await fetch(`${served.url}${httpGet.path}`)).status, where).toBe(200);
    }

    // Compose's health check fetches a served route on the port the API listens on.
    const check = JSON.stringify(compose.services.api?.healthcheck);
    const url = /http:\/\/127\.0\.0\.1:(\d+)(\/[^'"\\]*)/.exec(check);
    expect(url, check).not.toBeNull();
    expect(Number(url![1])).toBe(loadConfig(composeEnv(compose.services.api!)).PORT);
    expect(servedGets).toContain(url![2]);
    // And the dispatchers' on their own listener.
    const dispatcherCheck = JSON.stringify(compose.services.dispatcher?.healthcheck);
    const dispatcherProbe = /http:\/\/127\.0\.0\.1:(\d+)(\/[^'"\\]*)/.exec(dispatcherCheck);
    expect(dispatcherProbe, dispatcherCheck).not.toBeNull();
    expect(Number(dispatcherProbe![1])).toBe(
      loadConfig(composeEnv(compose.services.dispatcher!)).DISPATCHER_METRICS_PORT,
    );
    expect(Object.values(DISPATCHER_HTTP_PATHS)).toContain(dispatcherProbe![2]);
  });

  it('runs commands the image has: entrypoint commands whose files are in it', () => {
    const { dockerfile, ignored, runtimeBase } = imageFacts();
    expect(dockerfile).toMatch(
      /^COPY .*infra\/docker-entrypoint\.sh \/usr\/local\/bin\/outbound-entrypoint$/m,
    );
    expect(dockerfile).toMatch(/^ENTRYPOINT \["outbound-entrypoint"\]$/m);
    expect(dockerfile).toMatch(/^COPY \. \.$/m);
    const commands = entrypointCommands();
    expect([...commands.keys()].sort()).toEqual(['api', 'dispatcher', 'migrate', 'outbound']);
    for (const [command, file] of commands) {
      expect(existsSync(root(file)), `${command} runs ${file}`).toBe(true);
      expect(inImage(file, ignored), `${file} is in the image`).toBe(true);
    }

    for (const { workload, container } of outboundContainers()) {
      const where = `${workload.file}: ${container.name}`;
      // `command` would replace the entrypoint; `args` picks what it runs.
      expect(container.command, where).toBeUndefined();
      expect(
        commands.has(container.args?.[0] ?? ''),
        `${where} args ${String(container.args)}`,
      ).toBe(true);
      const execs = [
        container.lifecycle?.preStop?.exec?.command,
        container.livenessProbe?.exec?.command,
        container.readinessProbe?.exec?.command,
      ].filter((command) => command !== undefined);
      for (const exec of execs) {
        expect(BASE_IMAGE_BINARIES[runtimeBase ?? '']).toContain(exec[0]);
      }
    }
    for (const [name, service] of outboundServices()) {
      const command = service.command as string[];
      expect(commands.has(command[0] ?? ''), `compose ${name}: ${command.join(' ')}`).toBe(true);
    }
  });

  it('names only environment variables the config schema knows', () => {
    const names = [
      ...byKind('ConfigMap').flatMap((map) => Object.keys(map.data ?? {})),
      ...byKind('Secret').flatMap((secret) => Object.keys(secret.stringData ?? {})),
      ...outboundContainers().flatMap(({ container }) =>
        (container.env ?? []).map((variable) => variable.name),
      ),
      ...outboundServices().flatMap(([, service]) => Object.keys(composeEnv(service))),
    ];
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((name) => !schemaNames.has(name))).toEqual([]);

    // And what each process would parse is a valid configuration.
    for (const { container } of outboundContainers()) {
      expect(() => loadConfig(containerEnv(container)), container.name).not.toThrow();
    }
    for (const [name, service] of outboundServices()) {
      expect(() => loadConfig(composeEnv(service)), name).not.toThrow();
    }
    // Bull Board opens only with both admin variables; Compose gives them to the API.
    const apiConfig = loadConfig(composeEnv(compose.services.api!));
    expect(apiConfig.ADMIN_USERNAME).toBeDefined();
    expect(apiConfig.ADMIN_PASSWORD).toBeDefined();
  });

  it('runs the migrate command in the migration Job, and Compose runs it before the rest', () => {
    const job = named('Job', 'outbound-migrate');
    const spec = podSpecOf(job);
    expect(spec.containers).toHaveLength(1);
    expect(spec.containers[0]?.args).toEqual(['migrate']);
    expect(entrypointCommands().get('migrate')).toBe('packages/db/src/bin/migrate.ts');
    expect(spec.restartPolicy).toMatch(/^(Never|OnFailure)$/);
    for (const { container } of outboundContainers()) {
      expect(loadConfig(containerEnv(container)).MIGRATE_ON_START, container.name).toBe(false);
    }

    expect(compose.services.migrate?.command).toEqual(['migrate']);
    for (const name of ['api', 'dispatcher']) {
      expect(compose.services[name]?.depends_on, name).toMatchObject({
        migrate: { condition: 'service_completed_successfully' },
      });
    }
  });

  it('runs several dispatchers, asks for resources, and wires the Service to the API', () => {
    const dispatcher = named('Deployment', 'outbound-dispatcher');
    expect((dispatcher.spec as { replicas: number }).replicas).toBeGreaterThanOrEqual(2);
    expect(
      (compose.services.dispatcher?.deploy as { replicas: number }).replicas,
    ).toBeGreaterThanOrEqual(2);

    for (const { workload, container } of outboundContainers()) {
      expect(container.resources?.requests?.cpu, workload.file).toBeDefined();
      expect(container.resources?.requests?.memory, workload.file).toBeDefined();
    }
    for (const deployment of byKind('Deployment')) {
      const spec = deployment.spec as {
        selector: { matchLabels: Record<string, string> };
        template: { metadata: { labels: Record<string, string> } };
      };
      expect(spec.template.metadata.labels).toMatchObject(spec.selector.matchLabels);
    }

    const service = named('Service', 'outbound-api');
    const api = named('Deployment', 'outbound-api');
    const { selector, ports } = service.spec as {
      selector: Record<string, string>;
      ports: { targetPort: string | number }[];
    };
    const template = (api.spec as { template: { metadata: { labels: Record<string, string> } } })
      .template;
    expect(template.metadata.labels).toMatchObject(selector);
    const containerPorts = podSpecOf(api).containers[0]?.ports ?? [];
    for (const { targetPort } of ports) {
      expect(
        containerPorts.some(
          (port) => port.name === targetPort || port.containerPort === targetPort,
        ),
      ).toBe(true);
    }
  });

  it('gives a stopping dispatcher longer than the longest delivery', () => {
    const dispatcher = named('Deployment', 'outbound-dispatcher');
    const spec = podSpecOf(dispatcher);
    const config = loadConfig(containerEnv(spec.containers[0]!));
    const longestDeliveryMs = config.ADAPTER_TIMEOUT_MS + config.WORKER_LOCK_DURATION_MS;
    expect(config.SHUTDOWN_TIMEOUT_MS).toBeGreaterThanOrEqual(longestDeliveryMs);
    expect((spec.terminationGracePeriodSeconds ?? 30) * 1_000).toBeGreaterThan(
      config.SHUTDOWN_TIMEOUT_MS,
    );

    const service = compose.services.dispatcher!;
    const composeConfig = loadConfig(composeEnv(service));
    expect(composeConfig.SHUTDOWN_TIMEOUT_MS).toBeGreaterThanOrEqual(
      composeConfig.ADAPTER_TIMEOUT_MS + composeConfig.WORKER_LOCK_DURATION_MS,
    );
    const grace = /^(\d+)s$/.exec(String(service.stop_grace_period));
    expect(Number(grace?.[1]) * 1_000).toBeGreaterThan(composeConfig.SHUTDOWN_TIMEOUT_MS);

    // The API: the preStop pause plus its own shutdown budget fit in its grace period.
    const api = podSpecOf(named('Deployment', 'outbound-api'));
    const apiConfig = loadConfig(containerEnv(api.containers[0]!));
    const preStopSeconds = Number(api.containers[0]?.lifecycle?.preStop?.exec?.command[1] ?? 0);
    expect((api.terminationGracePeriodSeconds ?? 30) * 1_000).toBeGreaterThan(
      preStopSeconds * 1_000 + apiConfig.SHUTDOWN_TIMEOUT_MS,
    );
  });
});
