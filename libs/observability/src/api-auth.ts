import { createHash, timingSafeEqual } from 'node:crypto';

/** Prefect's body for every refused request. */
export const UNAUTHORIZED_BODY = { exception_message: 'Unauthorized' };

const digest = (bytes: Buffer | string): Buffer => createHash('sha256').update(bytes).digest();

/**
 * The API's credentials (`API_AUTH_STRING`), checked as Prefect's server checks them: HTTP requests carry
 * `Authorization: Basic <base64 of the auth string>` (what the client sends with `PREFECT_API_AUTH_STRING`), the
 * events websocket's `auth` message carries the auth string itself as `token`. Both compare SHA-256 digests in
 * constant time, so neither the answer's timing nor its length tells how much of a guess was right.
 */
export class ApiAuth {
  private readonly expected: Buffer;

  constructor(authString: string) {
    this.expected = digest(authString);
  }

  /** Prefect's parse: exactly a scheme and credentials, the scheme `Basic` (case matters), base64 credentials. */
  acceptsHeader(authorization: string | undefined): boolean {
    if (authorization === undefined) return false;
    const parts = authorization.trim().split(/\s+/);
    if (parts.length !== 2 || parts[0] !== 'Basic') return false;
    return this.matches(Buffer.from(parts[1], 'base64'));
  }

  acceptsToken(token: string): boolean {
    return this.matches(token);
  }

  private matches(credentials: Buffer | string): boolean {
    return timingSafeEqual(digest(credentials), this.expected);
  }
}
