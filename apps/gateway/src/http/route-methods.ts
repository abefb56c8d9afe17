import type { FastifyInstance, FastifyRequest, HTTPMethods } from 'fastify';

/** Path parameters Prefect declares as `{...:uuid}`: Starlette's route does not match a segment that is no UUID. */
const UUID_PARAMETERS = new Set(['id', 'schedule_id']);
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
// Fastify's own HEAD twins of GET routes and CORS preflights: FastAPI's routes list neither.
const UNLISTED_METHODS = new Set(['HEAD', 'OPTIONS']);

interface RoutePath {
  segments: string[];
  methods: string[];
}

/**
 * The methods each served path answers, to tell "no such path" (404) from "not with this method" (405), as
 * Starlette does. Collected from Fastify's `onRoute` hook; asked only when no route matched, so serving a
 * request costs nothing.
 */
export class RouteMethods {
  private readonly paths = new Map<string, RoutePath>();

  /** Records every route registered on `fastify` from now on. */
  static collect(fastify: FastifyInstance): RouteMethods {
    const routes = new RouteMethods();
    fastify.addHook('onRoute', ({ url, method }) => routes.add(url, method));
    registry.set(fastify, routes);
    return routes;
  }

  /** The routes collected for the instance that served `request`, if any. */
  static of(request: FastifyRequest): RouteMethods | undefined {
    return registry.get(request.server);
  }

  add(url: string, method: HTTPMethods | HTTPMethods[]): void {
    const key = url.replace(/\/+$/, '');
    const path = this.paths.get(key) ?? { segments: key.split('/'), methods: [] };
    for (const m of [method].flat()) {
      if (!UNLISTED_METHODS.has(m) && !path.methods.includes(m)) path.methods.push(m);
    }
    this.paths.set(key, path);
  }

  /** The methods served at a request's path, in registration order; empty when no route has this path. */
  allowed(rawUrl: string): string[] {
    const segments = rawUrl.split('?')[0].replace(/\/+$/, '').split('/');
    const methods = new Set<string>();
    for (const path of this.paths.values()) {
      if (path.methods.length > 0 && matches(path.segments, segments)) path.methods.forEach((m) => methods.add(m));
    }
    return [...methods];
  }
}

const registry = new WeakMap<FastifyInstance, RouteMethods>();

function matches(pattern: string[], segments: string[]): boolean {
  if (pattern.length !== segments.length) return false;
  return pattern.every((part, index) => {
    const segment = segments[index];
    if (!part.startsWith(':')) return part === segment;
    if (segment === '') return false;
    return !UUID_PARAMETERS.has(part.slice(1)) || UUID.test(segment);
  });
}
