import { ApiClient } from './api-client';
import { SeedTarget } from './bench-database';
import { SETTINGS } from './settings';

/** Parallel API calls while building the fixture: quick, without queueing hundreds of requests at once. */
const SETUP_CONCURRENCY = 8;

export interface BenchPool extends SeedTarget {
  name: string;
}

export interface Fixture {
  flowId: string;
  pools: BenchPool[];
  /** A pool only the due-to-pollable probe polls, with the deployment it creates runs from. */
  probe: BenchPool;
}

/** Creates, through the API, the flow, the pools (each with its default queue) and a deployment per pool. */
export async function createFixture(api: ApiClient): Promise<Fixture> {
  const flow = await api.call<{ id: string }>('POST', '/flows/', { name: 'bench-flow' });
  const createPool = async (name: string, concurrencyLimit: number | null): Promise<BenchPool> => {
    const pool = await api.call<{ default_queue_id: string }>('POST', '/work_pools/', {
      name,
      type: 'process',
      concurrency_limit: concurrencyLimit,
    });
    const deployment = await api.call<{ id: string }>('POST', '/deployments/', {
      name: `${name}-deployment`,
      flow_id: flow.id,
      work_pool_name: name,
    });
    return { name, workQueueId: pool.default_queue_id, deploymentId: deployment.id };
  };
  const pools = await mapConcurrently(
    Array.from({ length: SETTINGS.pools }, (_, i) => i),
    (i) =>
      createPool(
        `bench-pool-${String(i).padStart(3, '0')}`,
        i % SETTINGS.limitedPoolEvery === 0 ? SETTINGS.poolConcurrencyLimit : null,
      ),
  );
  const probe = await createPool('bench-probe', null);
  return { flowId: flow.id, pools, probe };
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
