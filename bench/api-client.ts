import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface ApiResponse {
  status: number;
  body: Buffer;
  /** `performance.now()` when the request was handed to the socket layer and when its body had fully arrived. */
  startedAt: number;
  finishedAt: number;
}

export class ApiError extends Error {}

/**
 * A keep-alive HTTP client for the gateway on 127.0.0.1, sending what a stock Prefect 3 client sends
 * (JSON bodies, `X-PREFECT-API-VERSION`). Plain `node:http`: Node 20's fetch cannot be given a keep-alive agent
 * without the undici package.
 */
export class ApiClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  constructor(private readonly port: number) {}

  request(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: http.OutgoingHttpHeaders = {},
  ): Promise<ApiResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: http.OutgoingHttpHeaders = {
      'x-prefect-api-version': '0.8.4',
      accept: 'application/json',
      ...extraHeaders,
    };
    if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
    return new Promise((resolve, reject) => {
      const startedAt = performance.now();
      const request = http.request(
        { host: '127.0.0.1', port: this.port, method, path: `/api${path}`, headers, agent: this.agent },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              body: Buffer.concat(chunks),
              startedAt,
              finishedAt: performance.now(),
            }),
          );
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  }

  /** A request that must succeed; resolves to its parsed body. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.request(method, path, body);
    if (response.status < 200 || response.status >= 300) {
      throw new ApiError(`${method} ${path} answered ${response.status}: ${response.body.toString().slice(0, 500)}`);
    }
    return JSON.parse(response.body.toString()) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** One entry of a `get_scheduled_flow_runs` answer, as far as the benchmark reads it. */
export interface WorkerFlowRun {
  work_pool_id: string;
  work_queue_id: string;
  flow_run: { id: string; next_scheduled_start_time: string | null };
}

/** Python's `str(datetime)` of an aware UTC instant, which is what the stock worker sends. */
export function pythonDateTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '000+00:00');
}

/** The stock worker's poll body: every queue of the pool, runs due within its prefetch. */
export function stockPollBody(prefetchSeconds: number): { work_queue_names: string[]; scheduled_before: string } {
  return { work_queue_names: [], scheduled_before: pythonDateTime(new Date(Date.now() + prefetchSeconds * 1000)) };
}

export const pollPath = (poolName: string) => `/work_pools/${encodeURIComponent(poolName)}/get_scheduled_flow_runs`;

/** The stock worker's claim: propose PENDING, not forced. */
export const claimPath = (runId: string) => `/flow_runs/${runId}/set_state`;
export const CLAIM_BODY = { state: { type: 'PENDING', name: 'Pending' }, force: false };
