import type { AppConfig } from '@app/config';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { ApiAuth, UNAUTHORIZED_BODY } from '@app/observability';
import { EVENT_SOCKET_PATHS } from '@gateway/events/event-sockets';
import { CorsPolicy } from './cors-policy';

/** What a JSON API answers with so that a browser never renders, frames or leaks it. */
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

/**
 * Prefect lets health probes in without credentials (`GET` only, exact path); our readiness probe is open alike.
 * `/metrics` is not: it names pools and queues, and Prometheus sends `basic_auth` as the API's clients do.
 */
const OPEN_PATHS = new Set(['/api/health', '/api/ready']);

const pathOf = (url: string): string => {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
};

/** The events websockets authenticate by their `auth` message, as Prefect's do, not by the upgrade request. */
const isEventSocketUpgrade = (request: FastifyRequest): boolean =>
  // Node marks a request it handed to the `upgrade` listener (`IncomingMessage.upgrade`, untyped).
  (request.raw as IncomingMessage & { upgrade?: boolean }).upgrade === true &&
  EVENT_SOCKET_PATHS.includes(request.routeOptions.url ?? '');

/**
 * What every request meets before any route, the 404 included: a CORS preflight is answered at once, as
 * Prefect's outermost middleware does; then, with an auth string configured, a request without its credentials
 * gets Prefect's 401 before its body is read. Every response carries the CORS and security headers.
 * Returns the auth check, for the events websocket's `auth` message (null when auth is off).
 */
export function guardHttpEdge(fastify: FastifyInstance, config: AppConfig): ApiAuth | null {
  const cors = new CorsPolicy({
    origins: config.http.corsAllowedOrigins,
    methods: config.http.corsAllowedMethods,
    headers: config.http.corsAllowedHeaders,
  });
  const auth = config.api.authString === null ? null : new ApiAuth(config.api.authString);
  fastify.addHook('onRequest', (request, reply, done) => {
    if (CorsPolicy.isPreflight(request.method, request.headers)) {
      const answer = cors.preflight(request.headers);
      void reply.code(answer.status).headers(answer.headers).type('text/plain; charset=utf-8').send(answer.body);
      return;
    }
    if (
      auth !== null &&
      !(request.method === 'GET' && OPEN_PATHS.has(pathOf(request.url))) &&
      !isEventSocketUpgrade(request) &&
      !auth.acceptsHeader(request.headers.authorization)
    ) {
      void reply.code(401).send(UNAUTHORIZED_BODY);
      return;
    }
    done();
  });
  fastify.addHook('onSend', (request, reply, payload, done) => {
    void reply.headers(SECURITY_HEADERS);
    const allowOrigin = cors.allowOrigin(request.headers.origin);
    if (allowOrigin !== undefined && !reply.hasHeader('access-control-allow-origin')) {
      void reply.header('access-control-allow-origin', allowOrigin);
    }
    const vary = reply.getHeader('vary');
    if (vary === undefined) void reply.header('vary', 'Origin');
    else if (!String(vary).includes('Origin')) void reply.header('vary', `${String(vary)}, Origin`);
    done(null, payload);
  });
  return auth;
}
