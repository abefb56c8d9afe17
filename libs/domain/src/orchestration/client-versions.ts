import { comparePep440 } from '../versions/pep440';

/** Prefect workers of these versions enforced deployment concurrency themselves, so the server leaves them be. */
const WORKER_VERSIONS_THAT_MANAGE_DEPLOYMENT_CONCURRENCY: ReadonlySet<string> = new Set([
  '3.0.0rc20',
  '3.0.0',
  '3.0.1',
  '3.0.2',
  '3.0.3',
]);

/** The first Prefect client that renews deployment concurrency leases while its flow runs. */
const MIN_CLIENT_VERSION_FOR_CONCURRENCY_LIMIT_LEASING = '3.4.11';

/** Whether the client enforces deployment concurrency itself (early Prefect 3 workers). */
export function managesDeploymentConcurrency(clientVersion: string | null): boolean {
  return clientVersion !== null && WORKER_VERSIONS_THAT_MANAGE_DEPLOYMENT_CONCURRENCY.has(clientVersion);
}

/**
 * Whether the client keeps a deployment concurrency lease alive while its run is RUNNING. Unknown clients don't;
 * a version that is not PEP 440 counts as newer, as Prefect's own comparison lets it pass.
 */
export function renewsConcurrencyLeases(clientVersion: string | null): boolean {
  return (
    clientVersion !== null && (comparePep440(clientVersion, MIN_CLIENT_VERSION_FOR_CONCURRENCY_LIMIT_LEASING) ?? 0) >= 0
  );
}
