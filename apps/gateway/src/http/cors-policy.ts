/** Starlette's `ALL_METHODS`: what `*` allows. */
const ALL_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'QUERY'];
/** Starlette's `SAFELISTED_HEADERS`, always allowed. */
const SAFELISTED_HEADERS = ['Accept', 'Accept-Language', 'Content-Language', 'Content-Type'];
const PREFLIGHT_VARY =
  'Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network';
/** Starlette's default `max_age`: browsers cache a preflight this long (seconds). */
const MAX_AGE_SECONDS = 600;

/** The answer to a preflight request. */
export interface PreflightAnswer {
  status: 200 | 400;
  headers: Record<string, string>;
  body: string;
}

const list = (setting: string): string[] =>
  setting
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/**
 * CORS as a Prefect server does it: Starlette's `CORSMiddleware` with Prefect's `allow_origins`, `allow_methods`
 * and `allow_headers` (no credentials, no exposed headers, no private network). A preflight is answered before
 * anything else runs (authentication included); every other response names the allowed origin.
 */
export class CorsPolicy {
  private readonly origins: Set<string>;
  private readonly allOrigins: boolean;
  private readonly methods: Set<string>;
  private readonly allHeaders: boolean;
  private readonly headers: Set<string>;
  private readonly preflightHeaders: Record<string, string>;

  constructor(settings: { origins: string; methods: string; headers: string }) {
    const origins = list(settings.origins);
    const methods = list(settings.methods);
    const headers = list(settings.headers);
    this.origins = new Set(origins);
    this.allOrigins = this.origins.has('*');
    this.methods = new Set(methods.includes('*') ? ALL_METHODS : methods);
    this.allHeaders = headers.includes('*');
    const allowedHeaders = [...new Set([...SAFELISTED_HEADERS, ...headers])].sort();
    this.headers = new Set(allowedHeaders.map((header) => header.toLowerCase()));
    this.preflightHeaders = {
      vary: PREFLIGHT_VARY,
      ...(this.allOrigins ? { 'access-control-allow-origin': '*' } : {}),
      'access-control-allow-methods': [...this.methods].join(', '),
      'access-control-max-age': String(MAX_AGE_SECONDS),
      ...(this.allHeaders ? {} : { 'access-control-allow-headers': allowedHeaders.join(', ') }),
    };
  }

  static isPreflight(method: string, headers: Record<string, string | string[] | undefined>): boolean {
    return (
      method === 'OPTIONS' && headers.origin !== undefined && headers['access-control-request-method'] !== undefined
    );
  }

  preflight(headers: Record<string, string | string[] | undefined>): PreflightAnswer {
    const origin = String(headers.origin);
    const method = String(headers['access-control-request-method']);
    const requestedHeaders = headers['access-control-request-headers'];
    const answer = { ...this.preflightHeaders };
    const failures: string[] = [];
    if (this.allowsOrigin(origin)) {
      if (!this.allOrigins) answer['access-control-allow-origin'] = origin;
    } else {
      failures.push('origin');
    }
    if (!this.methods.has(method)) failures.push('method');
    if (requestedHeaders !== undefined) {
      if (this.allHeaders) answer['access-control-allow-headers'] = String(requestedHeaders);
      else if (
        String(requestedHeaders)
          .split(',')
          .some((header) => !this.headers.has(header.trim().toLowerCase()))
      ) {
        failures.push('headers');
      }
    }
    if (headers['access-control-request-private-network'] !== undefined) failures.push('private-network');
    return failures.length > 0
      ? { status: 400, headers: answer, body: `Disallowed CORS ${failures.join(', ')}` }
      : { status: 200, headers: answer, body: 'OK' };
  }

  /** The `Access-Control-Allow-Origin` of an ordinary response to a request from `origin`, if it is allowed. */
  allowOrigin(origin: string | undefined): string | undefined {
    if (origin === undefined || !this.allowsOrigin(origin)) return undefined;
    return this.allOrigins ? '*' : origin;
  }

  private allowsOrigin(origin: string): boolean {
    return this.allOrigins || this.origins.has(origin);
  }
}
