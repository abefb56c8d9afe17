/*
 * Prefect clients up to 3.3.7 reject a work pool's `storage_configuration.default_result_storage_block_id`,
 * so Prefect leaves it out for them. The client names its version in `User-Agent: prefect/<version> (API ...)`.
 */

const LAST_CLIENT_WITHOUT_RESULT_STORAGE_BLOCK = [3, 3, 7];

// PEP 440: release, pre-release, post-release, dev-release, local label.
const PEP440 =
  /^v?(\d+(?:\.\d+)*)(?:[-_.]?(?:a|alpha|b|beta|c|rc|pre|preview)[-_.]?\d*)?((?:-\d+)|(?:[-_.]?(?:post|rev|r)[-_.]?\d*))?(?:[-_.]?dev[-_.]?\d*)?(\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?$/i;

/** The Prefect client version from a `User-Agent` header (`get_prefect_client_version`), or null. */
export function prefectClientVersion(userAgent: string | undefined): string | null {
  const match = /prefect\/(\S+)/.exec(userAgent ?? '');
  return match ? match[1] : null;
}

/** Whether `version` compares <= `bound` (a final release) under PEP 440. Unparseable versions count as newer. */
function isAtMost(version: string, bound: readonly number[]): boolean {
  const match = PEP440.exec(version.trim());
  if (!match) return false;
  const [, release, post, local] = match;
  const parts = release.split('.').map(Number);
  for (let i = 0; i < Math.max(parts.length, bound.length); i++) {
    const difference = (parts[i] ?? 0) - (bound[i] ?? 0);
    if (difference !== 0) return difference < 0;
  }
  // Same release: post-releases and local builds sort after it; pre- and dev-releases sort before it.
  return !post && !local;
}

/** Whether responses to this client must leave out `default_result_storage_block_id`. */
export function omitsDefaultResultStorageBlockId(clientVersion: string | null): boolean {
  return clientVersion !== null && isAtMost(clientVersion, LAST_CLIENT_WITHOUT_RESULT_STORAGE_BLOCK);
}
