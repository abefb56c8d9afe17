import { createServer, Server } from 'node:http';
import { ApiAuth } from './api-auth';
import { MetricsRegistry } from './metrics-registry';

/**
 * A small HTTP listener serving only `GET /metrics`, for an app without an HTTP API of its own (the scheduler).
 * With an API auth string set it asks for the same basic auth as the gateway (Prometheus' `basic_auth`).
 */
export function listenForMetrics(
  metrics: MetricsRegistry,
  { host, port, authString }: { host: string; port: number; authString: string | null },
): Promise<Server> {
  const auth = authString === null ? null : new ApiAuth(authString);
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    if (auth !== null && !auth.acceptsHeader(request.headers.authorization)) {
      response.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Basic' }).end('Unauthorized');
      return;
    }
    metrics.exposition().then(
      (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error)),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
