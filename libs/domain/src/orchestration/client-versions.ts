/** Prefect workers of these versions enforced deployment concurrency themselves, so the server leaves them be. */
const WORKER_VERSIONS_THAT_MANAGE_DEPLOYMENT_CONCURRENCY: ReadonlySet<string> = new Set(['3.0.0rc20', '3.0.0', '3.0.1', '3.0.2', '3.0.3']);

/** The first Prefect client that renews deployment concurrency leases while its flow runs. */
const MIN_CLIENT_VERSION_FOR_CONCURRENCY_LIMIT_LEASING = [3, 4, 11];

// PEP 440: release, then pre-release, post-release, dev-release and local label.
const PEP440 = /^v?(\d+(?:\.\d+)*)((?:[-_.]?(?:a|alpha|b|beta|c|rc|pre|preview)[-_.]?\d*)?)((?:-\d+|[-_.]?(?:post|rev|r)[-_.]?\d*)?)((?:[-_.]?dev[-_.]?\d*)?)(\+[a-z0-9.]+)?$/i;

/**
 * `version < minimum` (a final release) under PEP 440: pre- and dev-releases of `minimum` come before it,
 * post-releases and local builds after. A version that does not parse counts as newer.
 */
function versionBefore(version: string, minimum: readonly number[]): boolean {
  const match = PEP440.exec(version.trim());
  if (!match) return false;
  const [, release, pre, post, dev, local] = match;
  const parts = release.split('.').map(Number);
  for (let i = 0; i < Math.max(parts.length, minimum.length); i++) {
    const difference = (parts[i] ?? 0) - (minimum[i] ?? 0);
    if (difference !== 0) return difference < 0;
  }
  return !post && !local && Boolean(pre || dev);
}

/** Whether the client enforces deployment concurrency itself (early Prefect 3 workers). */
export function managesDeploymentConcurrency(clientVersion: string | null): boolean {
  return clientVersion !== null && WORKER_VERSIONS_THAT_MANAGE_DEPLOYMENT_CONCURRENCY.has(clientVersion);
}

/** Whether the client keeps a deployment concurrency lease alive while its run is RUNNING. Unknown clients don't. */
export function renewsConcurrencyLeases(clientVersion: string | null): boolean {
  return clientVersion !== null && !versionBefore(clientVersion, MIN_CLIENT_VERSION_FOR_CONCURRENCY_LIMIT_LEASING);
}
