import { ApiClient, CLAIM_BODY, claimPath, pollPath, stockPollBody, WorkerFlowRun } from './api-client';
import { SeedTarget } from './bench-database';
import { SETTINGS } from './settings';

/** Parallel API calls while building the fixture: quick, without queueing hundreds of requests at once. */
const SETUP_CONCURRENCY = 8;

export interface BenchPool extends SeedTarget {
  id: string;
  name: string;
}

export interface Fixture {
  flowId: string;
  pools: BenchPool[];
  /** A pool only the due-to-pollable probe polls, with the deployment it creates runs from. */
  probe: BenchPool;
}

/** Creates, through the API, a pool (with its default queue) and a deployment of `flowId` on it. */
export async function createPool(
  api: ApiClient,
  flowId: string,
  name: string,
  concurrencyLimit: number | null = null,
): Promise<BenchPool> {
  const pool = await api.call<{ id: string; default_queue_id: string }>('POST', '/work_pools/', {
    name,
    type: 'process',
    concurrency_limit: concurrencyLimit,
  });
  const deployment = await api.call<{ id: string }>('POST', '/deployments/', {
    name: `${name}-deployment`,
    flow_id: flowId,
    work_pool_name: name,
  });
  return { id: pool.id, name, workQueueId: pool.default_queue_id, deploymentId: deployment.id };
}

/** Creates, through the API, the flow, the pools (each with its default queue) and a deployment per pool. */
export async function createFixture(api: ApiClient): Promise<Fixture> {
  const flow = await api.call<{ id: string }>('POST', '/flows/', { name: 'bench-flow' });
  const pools = await mapConcurrently(
    Array.from({ length: SETTINGS.pools }, (_, i) => i),
    (i) =>
      createPool(
        api,
        flow.id,
        `bench-pool-${String(i).padStart(3, '0')}`,
        i % SETTINGS.limitedPoolEvery === 0 ? SETTINGS.poolConcurrencyLimit : null,
      ),
  );
  const probe = await createPool(api, flow.id, 'bench-probe');
  return { flowId: flow.id, pools, probe };
}

/**
 * One run end to end, through the API: a run created due now on `pool` is polled until it is handed out, then
 * claimed. Proves gateway, scheduler and bus are up; the run is the template the SQL seed copies.
 */
export async function deliverOne(api: ApiClient, pool: BenchPool, timeoutMs: number): Promise<string> {
  const run = await api.call<{ id: string }>('POST', `/deployments/${pool.deploymentId}/create_flow_run`, {});
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const runs = await api.call<WorkerFlowRun[]>('POST', pollPath(pool.name), stockPollBody(SETTINGS.prefetchSeconds));
    if (runs.some((entry) => entry.flow_run.id === run.id)) {
      await api.call('POST', claimPath(run.id), CLAIM_BODY);
      return run.id;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`a run created due now was not handed out within ${timeoutMs} ms: is the scheduler running?`);
}

export async function mapConcurrently<T, R>(
  items: T[],
  work: (item: T) => Promise<R>,
  concurrency = SETUP_CONCURRENCY,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
