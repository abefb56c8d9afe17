import { invalid } from './errors';

/**
 * Prefect's `LimitBody`: an absent limit means the default (`PREFECT_SERVER_API_DEFAULT_LIMIT`, 200); a negative
 * one or one above the default is a 422 with Prefect's exact text. Zero is allowed.
 */
export function resolveLimit(limit: number | null | undefined, defaultLimit: number): number {
  if (limit === null || limit === undefined) return defaultLimit;
  if (limit < 0) throw invalid('Invalid limit: must be greater than or equal to 0.');
  if (limit > defaultLimit) throw invalid(`Invalid limit: must be less than or equal to ${defaultLimit}.`);
  return limit;
}
