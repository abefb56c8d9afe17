/** The longest long poll we hold open (seconds). */
export const MAX_POLL_WAIT_SECONDS = 30;

/**
 * The `wait` preference of an RFC 7240 `Prefer` header (`Prefer: wait=10`, possibly among other preferences),
 * capped at {@link MAX_POLL_WAIT_SECONDS}; 0 when absent or malformed.
 */
export function preferredWaitSeconds(prefer: string | string[] | undefined): number {
  const header = Array.isArray(prefer) ? prefer.join(',') : (prefer ?? '');
  for (const preference of header.split(',')) {
    const match = /^\s*wait\s*=\s*"?(\d+)"?\s*(;.*)?$/i.exec(preference);
    if (match) return Math.min(Number(match[1]), MAX_POLL_WAIT_SECONDS);
  }
  return 0;
}
