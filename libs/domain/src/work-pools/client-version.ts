import { comparePep440 } from '../versions/pep440';

/*
 * Prefect clients up to 3.3.7 reject a work pool's `storage_configuration.default_result_storage_block_id`,
 * so Prefect leaves it out for them. The client names its version in `User-Agent: prefect/<version> (API ...)`.
 */

const LAST_CLIENT_WITHOUT_RESULT_STORAGE_BLOCK = '3.3.7';

/** The Prefect client version from a `User-Agent` header (`get_prefect_client_version`), or null. */
export function prefectClientVersion(userAgent: string | undefined): string | null {
  const match = /prefect\/(\S+)/.exec(userAgent ?? '');
  return match ? match[1] : null;
}

/** Whether responses to this client must leave out the field. A version that is not PEP 440 counts as newer. */
export function omitsDefaultResultStorageBlockId(clientVersion: string | null): boolean {
  return clientVersion !== null && (comparePep440(clientVersion, LAST_CLIENT_WITHOUT_RESULT_STORAGE_BLOCK) ?? 1) <= 0;
}
