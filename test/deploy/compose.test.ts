import { loadConfig } from '@app/config';
import { ConfigEnv } from '../../libs/config/src/config-env';
import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseDocument } from 'yaml';

/**
 * No Docker engine runs here: the compose files are checked as files. Each must be valid against the Compose
 * Specification's JSON schema (vendored, test/fixtures/NOTICE.md), and the cluster deployment must agree with our
 * configuration: every variable an app is given is one the apps read, with a valid value; NATS_URL names the cluster's
 * nodes, which route to each other, as many as the replicas need; nginx spreads over every gateway; Prometheus
 * scrapes every app on the port it serves metrics on; Grafana's dashboard shows the dispatch metrics.
 */
const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** Read by the apps once the metrics endpoints land (issue 13, point 3); until then ignored, so harmless. */
const METRICS_VARIABLES = ['METRICS_PORT'];

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: string[] | Record<string, unknown>;
}

interface Compose {
  services: Record<string, Service>;
}

/** The file as Docker Compose reads it: YAML merge keys (`<<`) resolved. */
function loadCompose(file: string): Compose {
  const document = parseDocument(read(file), { merge: true });
  expect(document.errors).toEqual([]);
  return document.toJS({ maxAliasCount: -1 }) as Compose;
}

describe('compose files', () => {
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  // Draft-07, which Ajv's default build is; it knows that meta-schema by its http:// id only, the file names https://.
  const { $schema: _draft07, ...schema } = JSON.parse(read('test/fixtures/compose-spec.json')) as Record<
    string,
    unknown
  >;
  const validate = ajv.compile(schema);

  it.each(['docker-compose.yml', 'deploy/docker-compose.cluster.yml'])('%s is valid Compose', (file) => {
    const valid = validate(parse(read(file), { merge: true }));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema check catches a broken file', () => {
    // A misspelt key and a list where a mapping or list of strings belongs.
    expect(validate({ services: { app: { image: 'x', enviroment: { A: '1' } } } })).toBe(false);
    expect(validate({ services: { app: { image: 'x', depends_on: 'db' } } })).toBe(false);
  });
});

describe('the cluster deployment agrees with our configuration', () => {
  const compose = loadCompose('deploy/docker-compose.cluster.yml');
  const services = compose.services;
  const byCommand = (entry: string) =>
    Object.entries(services)
      .filter(([, service]) => service.command?.join(' ').includes(entry))
      .map(([name]) => name);
  const gateways = byCommand('dist/apps/gateway/src/main.js');
  const schedulers = byCommand('dist/apps/scheduler/src/main.js');
  const natsNodes = Object.entries(services)
    .filter(([, service]) => service.image?.startsWith('nats:'))
    .map(([name]) => name);
  const flag = (service: Service, name: string) => {
    const args = service.command ?? [];
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : undefined;
  };

  it('runs two gateways, two schedulers and three NATS nodes', () => {
    expect(gateways).toHaveLength(2);
    expect(schedulers).toHaveLength(2);
    expect(natsNodes).toHaveLength(3);
  });

  it('gives the apps only variables they read, each with a valid value', () => {
    const known = new Set([...Object.keys(new ConfigEnv()), ...METRICS_VARIABLES]);
    for (const name of [...gateways, ...schedulers]) {
      const environment = services[name].environment ?? {};
      expect([name, Object.keys(environment).filter((key) => !known.has(key))]).toEqual([name, []]);
      const config = loadConfig(environment);
      expect(config.nats.streamReplicas).toBe(3);
    }
  });

  it('points every app at every NATS node, enough of them for the replicas, routed to each other in one cluster', () => {
    for (const name of [...gateways, ...schedulers]) {
      const config = loadConfig(services[name].environment ?? {});
      expect(config.nats.url.split(',').map((url) => new URL(url).host)).toEqual(
        natsNodes.map((node) => `${node}:4222`),
      );
      expect(natsNodes.length).toBeGreaterThanOrEqual(config.nats.streamReplicas);
    }
    const clusterNames = new Set(natsNodes.map((node) => flag(services[node], '--cluster_name')));
    expect(clusterNames.size).toBe(1);
    for (const node of natsNodes) {
      const service = services[node];
      expect(service.command).toEqual(expect.arrayContaining(['-js', '-sd']));
      expect(flag(service, '--name')).toBe(node);
      const routes = (flag(service, '--routes') ?? '').split(',').map((url) => new URL(url).hostname);
      expect(routes.sort()).toEqual(natsNodes.filter((other) => other !== node).sort());
    }
  });

  it('has every service an app depends on', () => {
    for (const [name, service] of Object.entries(services)) {
      const dependencies = Array.isArray(service.depends_on)
        ? service.depends_on
        : Object.keys(service.depends_on ?? {});
      expect([name, dependencies.filter((dependency) => !(dependency in services))]).toEqual([name, []]);
    }
  });

  it('puts nginx in front of every gateway on its PORT, and publishes the API on 4200', () => {
    const nginx = read('deploy/nginx.conf');
    const upstream = /upstream gateways \{([^}]*)\}/.exec(nginx)?.[1] ?? '';
    const servers = [...upstream.matchAll(/server\s+([\w.-]+):(\d+)/g)].map((match) => `${match[1]}:${match[2]}`);
    expect(servers.sort()).toEqual(
      gateways.map((name) => `${name}:${loadConfig(services[name].environment ?? {}).http.port}`).sort(),
    );
    expect(nginx).toMatch(/proxy_pass http:\/\/gateways;/);
    expect(services.nginx.ports).toEqual(['4200:80']);
  });

  it('has Prometheus scrape every gateway on its PORT and every scheduler on its METRICS_PORT', () => {
    const prometheus = parse(read('deploy/prometheus.yml')) as {
      scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = (job: string) =>
      prometheus.scrape_configs
        .filter((config) => config.job_name === job)
        .flatMap((config) => config.static_configs.flatMap((s) => s.targets))
        .sort();
    expect(targets('gateway')).toEqual(
      gateways.map((name) => `${name}:${loadConfig(services[name].environment ?? {}).http.port}`).sort(),
    );
    expect(targets('scheduler')).toEqual(
      schedulers.map((name) => `${name}:${services[name].environment?.METRICS_PORT ?? '4201'}`).sort(),
    );
    expect(prometheus.scrape_configs.every((config) => (config.metrics_path ?? '/metrics') === '/metrics')).toBe(true);
  });

  it('provisions Grafana with the Prometheus service and a dashboard of the dispatch metrics', () => {
    const datasources = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: { type: string; uid: string; url: string }[];
    };
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ type: 'prometheus', uid: 'prometheus', url: 'http://prometheus:9090' }),
    ]);
    expect(services.prometheus.ports).toEqual(['9090:9090']);
    const dashboard = JSON.parse(read('deploy/grafana/dashboards/prefect-dispatch.json')) as {
      panels: { datasource: { uid: string }; targets: { expr: string }[] }[];
    };
    const expressions = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)).join('\n');
    for (const metric of [
      'prefect_dispatch_poll_duration_seconds_bucket',
      'prefect_dispatch_runs_handed_out_total',
      'prefect_dispatch_bus_pending_runs',
      'prefect_dispatch_oldest_due_run_age_seconds',
      'prefect_dispatch_claims_total',
      'prefect_dispatch_dispatcher_published_runs_total',
    ]) {
      expect(expressions).toContain(metric);
    }
    expect(dashboard.panels.every((panel) => panel.datasource.uid === 'prometheus')).toBe(true);
  });
});
