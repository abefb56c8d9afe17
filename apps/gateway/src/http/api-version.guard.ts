import { badRequest, isApiVersion, versionAtLeast } from '@app/domain';
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** Prefect's `EnforceMinimumAPIVersion`: clients that announce an older API are refused. */
const MINIMUM_API_VERSION = '0.8.0';

/** Prefect serves these outside its versioned routers, so they answer whatever the header says. */
const UNVERSIONED_ROUTES = new Set(['/api/health', '/api/version']);

/** A request header's first value; an empty header counts as absent, as in Prefect. */
export function requestHeader(request: FastifyRequest, name: string): string | null {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value) || null;
}

/** The `X-PREFECT-API-VERSION` a request announces, if any. */
export const requestApiVersion = (request: FastifyRequest): string | null =>
  requestHeader(request, 'x-prefect-api-version');

/**
 * Checks `X-PREFECT-API-VERSION` on every API route, as Prefect's routers do: absent is fine, otherwise it
 * must be `x.y.z` integers and at least {@link MINIMUM_API_VERSION}; either failure is a 400.
 */
@Injectable()
export class ApiVersionGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    // Global guards also see the NATS request handlers, which carry no HTTP headers.
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (UNVERSIONED_ROUTES.has(request.routeOptions.url ?? '')) return true;
    const version = requestApiVersion(request);
    if (version === null) return true;
    if (!isApiVersion(version)) {
      // Prefect's text, missing space included.
      throw badRequest(
        `Invalid X-PREFECT-API-VERSION header format.Expected header in format 'x.y.z' but received ${version}`,
      );
    }
    if (!versionAtLeast(version, MINIMUM_API_VERSION)) {
      throw badRequest(
        `The request specified API version ${version} but this server requires version ${MINIMUM_API_VERSION} or higher.`,
      );
    }
    return true;
  }
}
