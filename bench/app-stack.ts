import { ApiClient } from './api-client';
import { AppProcess, appSettings, freePort, nodeArgsFrom, runWithApps, waitForHealth } from './apps';
import { BenchDatabase } from './bench-database';
import { NatsAdmin } from './nats-admin';

/** One gateway and one scheduler of a build, on a database and a NATS namespace of their own. */
export interface AppStack {
  api: ApiClient;
  /** Connected once the gateway has migrated the schema. */
  db: BenchDatabase;
  nats: NatsAdmin;
  port: number;
  gateway: AppProcess;
  scheduler: AppProcess;
  /** Throws, with its last output, if either app has exited. */
  assertRunning(): void;
}

/**
 * Runs `work` against a fresh stack (`dist`: the build, `dist` unless told another), then stops both apps and drops the
 * database and the namespace's streams, on failure and on Ctrl-C too. `BENCH_GATEWAY_NODE_ARGS` and
 * `BENCH_SCHEDULER_NODE_ARGS` are options of node for each app (`--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
export async function runAppStack<T>(
  { databaseName, namespace, dist }: { databaseName: string; namespace: string; dist?: string },
  log: (message: string) => void,
  work: (stack: AppStack) => Promise<T>,
): Promise<T> {
  const db = await BenchDatabase.recreate(databaseName);
  const nats = await NatsAdmin.connect();
  const port = await freePort();
  const env = appSettings(db.url, namespace, port);
  const api = new ApiClient(port);
  const apps: AppProcess[] = [];
  const stopAll = async () => {
    api.close();
    for (const app of [...apps].reverse()) await app.stop();
    await nats.deleteStreams(namespace);
    await nats.close();
    await db.drop();
  };
  return runWithApps(apps, stopAll, log, async () => {
    const gateway = AppProcess.start('gateway', env, { dist, nodeArgs: nodeArgsFrom('BENCH_GATEWAY_NODE_ARGS') });
    apps.push(gateway);
    await waitForHealth(port, gateway);
    const scheduler = AppProcess.start('scheduler', env, { dist, nodeArgs: nodeArgsFrom('BENCH_SCHEDULER_NODE_ARGS') });
    apps.push(scheduler);
    await db.connect();
    const assertRunning = () => {
      for (const app of apps) if (!app.running) throw new Error(`${app.name} exited:\n${app.recentOutput()}`);
    };
    return work({ api, db, nats, port, gateway, scheduler, assertRunning });
  });
}
