import { AppConfig, createLogger } from '@app/config';
import { NestApplicationOptions } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { validationFailed } from '@app/domain';
import { NamespacedNatsServer, natsConnectionOptions } from '@app/messaging';
import { serveEventsIn } from '../events/events-in.socket';

export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Builds the gateway's HTTP application: Fastify with JSON-line request logs carrying a request id, Prefect's
 * `/api` prefix, a JSON body parser that treats an empty body as "no body", and Prefect's error shapes for
 * errors raised before a route runs (bad JSON, oversized bodies).
 */
export type AppFactory = (adapter: FastifyAdapter, options: NestApplicationOptions) => Promise<NestFastifyApplication>;

export async function createHttpApp(config: AppConfig, create: AppFactory): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: MAX_BODY_BYTES,
    logger: config.LOG_LEVEL === 'silent' ? false : { level: config.LOG_LEVEL },
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    routerOptions: { ignoreTrailingSlash: true },
    return503OnClosing: false,
  });
  const fastify = adapter.getInstance();
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      const position = Number(/position (\d+)/.exec(String(error))?.[1] ?? 0);
      const detail = { type: 'json_invalid', loc: ['body', position], msg: 'JSON decode error', input: {}, ctx: { error: (error as Error).message } };
      done(validationFailed([detail], text), undefined);
    }
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
  // Upgrade requests reach the router through @fastify/websocket's `upgrade` listener (see `serveEventsIn`), on a
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
  app.setGlobalPrefix('api');
  await serveEventsIn(app);
  // Request/reply over NATS (the claim for NATS-native workers), served by the same handlers and services.
  app.connectMicroservice(
    {
      strategy: new NamespacedNatsServer(config.NATS_NAMESPACE, {
        ...natsConnectionOptions(config),
        name: 'gateway-rpc',
        queue: `${config.NATS_NAMESPACE}-gateway`,
      }),
    },
  );
  return app;
}
