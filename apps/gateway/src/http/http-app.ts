import { AppConfig, createLogger } from '@app/config';
import { NestApplicationOptions, RequestMethod } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BODY_PARSE_ERROR, isTooDeep, NonJsonBody, unstorableStrings } from '@app/contracts';
import { badRequest, validationFailed } from '@app/domain';
import { NamespacedNatsServer, natsConnectionOptions } from '@app/messaging';
import { serveEventSockets } from '@gateway/events/event-sockets';
import { ConnectionCap } from './connection-cap';
import { guardHttpEdge } from './http-edge';
import { RouteMethods } from './route-methods';

/**
 * The longest path parameter routed (find-my-way answers 414 past it; its default, 100, refused reading or deleting
 * a pool or flow with a longer name, which Prefect allows). Node already refuses a request head over 16 KiB
 * (`--max-http-header-size`, 431), so no longer parameter could arrive: this only keeps the router's own bound.
 */
const MAX_PATH_PARAMETER_LENGTH = 16 * 1024;

/** Node checks its request timeouts this often (its default, 30 s, would let a stalled client stay that much longer). */
const CONNECTIONS_CHECK_INTERVAL_MS = 1000;

/**
 * Builds the gateway's HTTP application: Fastify with JSON-line request logs carrying a request id, Prefect's
 * `/api` prefix, a JSON body parser that treats an empty body as "no body", and Prefect's error shapes for
 * errors raised before a route runs (bad JSON, oversized or too deeply nested bodies, strings Postgres cannot
 * store). Slow or idle clients are cut off by the header, request and keep-alive timeouts, and open connections are
 * capped (`ConnectionCap`), so no client can exhaust the process's file descriptors; authentication, CORS and
 * security headers are in `guardHttpEdge`.
 */
/** Whether FastAPI parses a body of this content type as JSON: none given, or `application/json` or `application/*+json`. */
function readsAsJson(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType.trim() === '') return true;
  const [type = '', subtype = ''] = contentType.split(';')[0].trim().toLowerCase().split('/');
  return type === 'application' && (subtype === 'json' || subtype.endsWith('+json'));
}

export type AppFactory = (adapter: FastifyAdapter, options: NestApplicationOptions) => Promise<NestFastifyApplication>;

export async function createHttpApp(config: AppConfig, create: AppFactory): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    requestTimeout: config.http.requestTimeoutSeconds * 1000,
    keepAliveTimeout: config.http.keepAliveTimeoutSeconds * 1000,
    http: {
      headersTimeout: config.http.headersTimeoutSeconds * 1000,
      connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS,
    },
    logger: config.logging.level === 'silent' ? false : { level: config.logging.level },
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PATH_PARAMETER_LENGTH },
    return503OnClosing: false,
  });
  const fastify = adapter.getInstance();
  RouteMethods.collect(fastify);
  const connections = new ConnectionCap(fastify.server, config.http.maxConnections);
  const auth = guardHttpEdge(fastify, config);
  const parseJson = (text: string, done: (error: Error | null, body?: unknown) => void): void => {
    const trimmed = text.trim();
    if (trimmed === '') return done(null, undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      const position = Number(/position (\d+)/.exec(String(error))?.[1] ?? 0);
      const detail = {
        type: 'json_invalid',
        loc: ['body', position],
        msg: 'JSON decode error',
        input: {},
        ctx: { error: (error as Error).message },
      };
      done(validationFailed([detail], trimmed), undefined);
      return;
    }
    if (isTooDeep(parsed)) return done(badRequest(BODY_PARSE_ERROR), undefined);
    // Checked here, once for every route: such a string would otherwise reach Postgres and fail there.
    const unstorable = unstorableStrings(parsed);
    done(unstorable.length > 0 ? validationFailed(unstorable, parsed) : null, parsed);
  };
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: config.http.bodyLimitBytes },
    (_req, body, done) => parseJson(body as string, done),
  );
  // Every other body, and one sent without a content type, as FastAPI reads it: JSON when the type is missing or
  // is `application/<anything>json` (`application/vnd.api+json`), else the raw text, which validation refuses or,
  // for a route of embedded body fields (a poll), reads as no body at all.
  fastify.removeContentTypeParser('text/plain');
  fastify.addContentTypeParser('*', { parseAs: 'string', bodyLimit: config.http.bodyLimitBytes }, (req, body, done) => {
    const text = body as string;
    if (readsAsJson(req.headers['content-type'])) return parseJson(text, done);
    done(null, text === '' ? undefined : new NonJsonBody(text));
  });
  // A connection busy when the server starts closing would be kept alive after its response and hold the
  // close open forever; once closing, every response ends its connection.
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  // Upgrade requests reach the router through @fastify/websocket's `upgrade` listener (see `serveEventSockets`), on a
  // socket no HTTP parser owns: once a route answered one with a plain response (a 404), nothing else closes it.
  fastify.addHook('onResponse', (request, _reply, done) => {
    // Node marks a request it handed to the `upgrade` listener (`IncomingMessage.upgrade`, untyped).
    if ((request.raw as IncomingMessage & { upgrade?: boolean }).upgrade) request.raw.socket.destroy();
    done();
  });
  const app = await create(adapter, {
    bodyParser: false,
    logger: createLogger(config),
  });
  // Prometheus scrapes `/metrics` at the root, as it does every exporter.
  app.setGlobalPrefix('api', { exclude: [{ path: 'metrics', method: RequestMethod.GET }] });
  await serveEventSockets(app, auth, connections);
  // Request/reply over NATS (the claim for NATS-native workers), served by the same handlers and services.
  app.connectMicroservice({
    strategy: new NamespacedNatsServer(config.nats.namespace, {
      ...natsConnectionOptions(config.nats),
      name: 'gateway-rpc',
      queue: `${config.nats.namespace}-gateway`,
    }),
  });
  return app;
}
