import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApiClient } from './api-client';
import { AppProcess, appSettings, freePort, rssBytes, waitForHealth } from './apps';
import { BenchDatabase } from './bench-database';
import { measureBulk, renderBulkSection, writeBulkSection } from './bulk';
import { measureBurst, renderBurstSection } from './burst';
import { clusterRatios, measureCluster, writeClusterSection } from './cluster';
import { createFixture, deliverOne } from './fixture';
import { comparePrefect } from './compare';
import { COMPARE_SECTION, renderCompareSection } from './compare-report';
import { measureDispatch, renderDispatchSection } from './dispatch';
import { Deliveries, drainEveryPool } from './load';
import { NatsAdmin } from './nats-admin';
import { Environment, renderReport, targetVerdicts } from './report';
import { readSection, writeSection } from './report-section';
import { measureScale, renderScaleSection, seriesRatios } from './scale';
import { measureScenario, ScenarioResult } from './scenario';
import { measureSchedules, renderSchedulesSection, writeSchedulesSection } from './schedules';
import { SETTINGS } from './settings';

const DATABASE_NAME = 'prefect_dispatch_bench';
const REPORT_PATH = path.resolve(__dirname, '../../docs/benchmarks.md');
const READY_TIMEOUT_MS = 30_000;
/**
 * Sections of the report that other benchmarks write (the schedules one after this, with --polls-only not at all;
 * the others with their own flag); rewriting the polling report keeps them.
 */
const OWN_SECTIONS = ['schedules', 'bulk', 'cluster', 'dispatch', 'scale', 'burst', COMPARE_SECTION];
const PREWARM_TIMEOUT_MS = 60_000;

const log = (message: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

async function main(): Promise<void> {
  const started = performance.now();
  const namespace = `bench-${process.pid}`;
  log(`database ${DATABASE_NAME}, NATS namespace ${namespace}`);
  const db = await BenchDatabase.recreate(DATABASE_NAME);
  const nats = await NatsAdmin.connect();
  const port = await freePort();
  const appEnv = appSettings(db.url, namespace, port);
  const api = new ApiClient(port);
  const apps: AppProcess[] = [];

  let cleanedUp: Promise<void> | undefined;
  const cleanUp = () =>
    (cleanedUp ??= (async () => {
      api.close();
      for (const app of [...apps].reverse()) await app.stop();
      const streams = await nats.deleteStreams(namespace);
      await nats.close();
      await db.drop();
      log(`cleaned up: processes stopped, ${streams} streams and the database removed`);
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
  }

  try {
    const gateway = AppProcess.start('gateway', appEnv);
    apps.push(gateway);
    await waitForHealth(port, gateway);
    const gatewayRssAfterBootBytes = rssBytes(gateway.pid);
    const scheduler = AppProcess.start('scheduler', appEnv);
    apps.push(scheduler);
    await db.connect();
    const environment: Environment = {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: os.totalmem() / 1024 ** 3,
      node: process.version,
      nats: nats.serverVersion,
      postgres: await db.serverVersion(),
      loadAverage: os.loadavg(),
      startedAt: new Date(),
    };
    log(
      `${environment.cpus} CPUs, node ${environment.node}, nats-server ${environment.nats}, postgres ${environment.postgres}`,
    );

    log(`creating ${SETTINGS.pools} pools and deployments`);
    const fixture = await createFixture(api);
    const templateRunId = await deliverOne(api, fixture.probe, READY_TIMEOUT_MS);
    log('delivering one run per pool (creates every stream and consumer)');
    const now = Date.now();
    await db.seedScheduledRuns(
      fixture.pools,
      {
        count: fixture.pools.length,
        from: new Date(now - 1000),
        to: new Date(now),
        spacing: 'even',
        assignment: 'round-robin',
      },
      templateRunId,
    );
    const prewarm = new Deliveries(api);
    const silent = await drainEveryPool(api, fixture.pools, prewarm, PREWARM_TIMEOUT_MS);
    await prewarm.settled();
    if (silent.length > 0) throw new Error(`no run was handed out on ${silent.length} pools (e.g. ${silent[0]})`);

    const results: ScenarioResult[] = [];
    const pids = { gateway: gateway.pid, scheduler: scheduler.pid };
    for (const scenario of SETTINGS.scenarios) {
      results.push(await measureScenario({ api, db, fixture, templateRunId, pids, log }, scenario));
      for (const app of apps) if (!app.running) throw new Error(`${app.name} exited:\n${app.recentOutput()}`);
    }

    // Sections other benchmarks own are kept as they are: only their own flag measures them again.
    const kept = OWN_SECTIONS.map((name) => [name, readSection(name, REPORT_PATH)] as const);
    writeFileSync(
      REPORT_PATH,
      renderReport(environment, results, {
        durationSeconds: (performance.now() - started) / 1000,
        gatewayRssAfterBootBytes,
      }),
    );
    for (const [name, section] of kept) if (section) writeSection(name, section, REPORT_PATH);
    log(`wrote ${path.relative(process.cwd(), REPORT_PATH)}`);
    for (const verdict of targetVerdicts(results)) {
      log(`${verdict.met ? 'met   ' : 'MISSED'} ${verdict.name}: ${verdict.measured}`);
    }
  } catch (error) {
    for (const app of apps) if (app.recentOutput()) log(`${app.name} output:\n${app.recentOutput()}`);
    throw error;
  } finally {
    await cleanUp();
  }
}

/**
 * `--dispatch` alone: the dispatch benchmark, against `--baseline DIR` first when given (another build of the apps,
 * e.g. main's, copied into a folder of this checkout), then against `dist/`.
 */
async function dispatch(): Promise<void> {
  const startedAt = new Date();
  const at = process.argv.indexOf('--baseline');
  const baseline = at >= 0 ? process.argv[at + 1] : undefined;
  const rounds = [];
  if (baseline) rounds.push(...(await measureDispatch(`baseline (${baseline})`, baseline, log)));
  rounds.push(...(await measureDispatch('current', 'dist', log)));
  writeSection('dispatch', renderDispatchSection(rounds, { startedAt, cpus: os.cpus().length }), REPORT_PATH);
  log(`wrote ${path.relative(process.cwd(), REPORT_PATH)}`);
}

/** `--compare-prefect` alone: ours and Prefect's own server side by side (bench/compare.ts). */
async function compare(): Promise<void> {
  writeSection(COMPARE_SECTION, renderCompareSection(await comparePrefect(log)), REPORT_PATH);
  log(`wrote ${path.relative(process.cwd(), REPORT_PATH)}`);
}

/** `--scale` alone: poll latency and cost as data, pools and pollers grow (bench/scale.ts). */
async function scale(): Promise<void> {
  log('scale benchmark (bench/scale.ts)');
  const result = await measureScale(log);
  writeSection('scale', renderScaleSection(result), REPORT_PATH);
  for (const series of ['pools', 'data', 'pollers'] as const) {
    const rounds = result.rounds.filter((r) => r.series === series);
    if (rounds.length === 0) continue;
    const ratios = seriesRatios(rounds);
    log(
      `${series}: last/first poll p99 ${ratios.p99.toFixed(2)}×, CPU per poll ${ratios.cpu.toFixed(2)}× ` +
        `(flat within 1.3×: ${ratios.flat ? 'yes' : 'no'})`,
    );
  }
  log(`wrote ${path.relative(process.cwd(), REPORT_PATH)} in ${(result.durationSeconds / 60).toFixed(1)} min`);
}

/** `--burst` alone: 10,000 runs due in one second, claimed by 16 HTTP workers (bench/burst.ts). */
async function burst(): Promise<void> {
  writeSection('burst', renderBurstSection(await measureBurst(log)), REPORT_PATH);
  log(`wrote ${path.relative(process.cwd(), REPORT_PATH)}`);
}

/**
 * The polling benchmark, then (on its own processes, after the first are gone) the schedules benchmark; or one other
 * benchmark alone: `--dispatch`, `--compare-prefect` (bench/compare.ts), `--cluster` (bench/cluster.ts), `--bulk`
 * (bench/bulk.ts), `--scale` (bench/scale.ts) or `--burst` (bench/burst.ts).
 */
async function all(): Promise<void> {
  if (process.argv.includes('--scale')) return scale();
  if (process.argv.includes('--burst')) return burst();
  if (process.argv.includes('--compare-prefect')) return compare();
  if (process.argv.includes('--dispatch')) return dispatch();
  if (process.argv.includes('--bulk')) {
    log('bulk creation benchmark (bench/bulk.ts)');
    const at = process.argv.indexOf('--baseline');
    writeBulkSection(renderBulkSection(await measureBulk(at >= 0 ? process.argv[at + 1] : undefined)), REPORT_PATH);
    log(`wrote ${path.relative(process.cwd(), REPORT_PATH)}`);
    return;
  }
  if (process.argv.includes('--cluster')) {
    const result = await measureCluster(log);
    writeClusterSection(result, REPORT_PATH);
    const ratios = clusterRatios(result);
    log(
      `wrote ${path.relative(process.cwd(), REPORT_PATH)}: cluster/single throughput ${ratios.throughput.toFixed(2)}×, ` +
        `poll p99 ${ratios.pollP99.toFixed(2)}×`,
    );
    return;
  }
  await main();
  if (process.argv.includes('--polls-only')) return;
  log('schedules benchmark (bench/schedules.ts)');
  writeSchedulesSection(renderSchedulesSection(await measureSchedules()), REPORT_PATH);
  log(`wrote ${path.relative(process.cwd(), REPORT_PATH)}`);
}

all().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
