import { performance } from 'node:perf_hooks';
import { ApiClient, ApiResponse, CLAIM_BODY, claimPath, pollPath, stockPollBody, WorkerFlowRun } from './api-client';
import { BenchPool, mapConcurrently } from './fixture';
import { SETTINGS } from './settings';

export interface PollSample {
  /** `performance.now()` at send. */
  startedAt: number;
  latencyMs: number;
  /** How long after its slot the poll went out (a poller whose previous poll ran long is late). */
  lateMs: number;
  status: number;
  runs: number;
  bytes: number;
}

export interface ProbeSample {
  sentAt: number;
  /** From the create call's answer (the commit is just before it) to the poll answer holding the run. */
  fromCommitMs: number | null;
  /** From sending the create call: an upper bound of commit → pollable. */
  fromRequestMs: number | null;
  polls: number;
}

export interface Window {
  startAt: number;
  endAt: number;
}

const sleepUntil = (at: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())));

/**
 * What the pollers were handed, and their claims: like a stock worker, every run received is proposed PENDING at
 * once (so it does not come back). A run handed out twice means two holders (invariant I2).
 */
export class Deliveries {
  private readonly seen = new Set<string>();
  private readonly claims: Promise<void>[] = [];
  readonly claimOutcomes = new Map<string, number>();
  received = 0;
  duplicates = 0;

  constructor(private readonly api: ApiClient) {}

  take(response: ApiResponse): WorkerFlowRun[] {
    if (response.status !== 200) return [];
    const runs = JSON.parse(response.body.toString()) as WorkerFlowRun[];
    for (const { flow_run: run } of runs) {
      this.received++;
      if (this.seen.has(run.id)) this.duplicates++;
      this.seen.add(run.id);
      this.claims.push(this.claim(run.id));
    }
    return runs;
  }

  private async claim(runId: string): Promise<void> {
    let outcome: string;
    try {
      const response = await this.api.request('POST', claimPath(runId), CLAIM_BODY);
      outcome =
        response.status === 200 || response.status === 201
          ? (JSON.parse(response.body.toString()) as { status: string }).status
          : `HTTP ${response.status}`;
    } catch (error) {
      outcome = `error ${String(error)}`;
    }
    this.claimOutcomes.set(outcome, (this.claimOutcomes.get(outcome) ?? 0) + 1);
  }

  /** Waits for every claim sent so far. */
  async settled(): Promise<void> {
    await Promise.all(this.claims);
  }
}

async function poll(api: ApiClient, pool: BenchPool): Promise<ApiResponse> {
  return api.request('POST', pollPath(pool.name), stockPollBody(SETTINGS.prefetchSeconds));
}

/**
 * The load: `SETTINGS.pollers` pollers (or `rate.pollers`), each polling on a fixed period so that together they send
 * `SETTINGS.targetPollsPerSecond` (or `rate.pollsPerSecond`), slots staggered evenly. Poller i polls pools i,
 * i + pollers, ... in turn, so every pool is polled equally often. At most one poll per poller is in flight, as with
 * a worker.
 */
export async function runPollers(
  api: ApiClient,
  pools: BenchPool[],
  window: Window,
  deliveries: Deliveries,
  rate: { pollers: number; pollsPerSecond: number } = {
    pollers: SETTINGS.pollers,
    pollsPerSecond: SETTINGS.targetPollsPerSecond,
  },
): Promise<PollSample[]> {
  const { pollers, pollsPerSecond: targetPollsPerSecond } = rate;
  const period = (1000 * pollers) / targetPollsPerSecond;
  const samples: PollSample[] = [];
  const poller = async (index: number) => {
    const offset = (index * period) / pollers;
    for (let tick = 0; ; tick++) {
      const slot = window.startAt + offset + tick * period;
      if (slot >= window.endAt) return;
      await sleepUntil(slot);
      const pool = pools[(index + tick * pollers) % pools.length];
      const startedAt = performance.now();
      try {
        const response = await poll(api, pool);
        const runs = deliveries.take(response);
        samples.push({
          startedAt,
          latencyMs: response.finishedAt - response.startedAt,
          lateMs: startedAt - slot,
          status: response.status,
          runs: runs.length,
          bytes: response.body.length,
        });
      } catch {
        samples.push({
          startedAt,
          latencyMs: performance.now() - startedAt,
          lateMs: startedAt - slot,
          status: 0,
          runs: 0,
          bytes: 0,
        });
      }
    }
  };
  await Promise.all(Array.from({ length: pollers }, (_, index) => poller(index)));
  return samples;
}

/**
 * Due-to-pollable: every `probeIntervalMs`, create a run due now (`POST /deployments/{id}/create_flow_run`, as
 * `run_deployment` does), then poll its pool back to back with the stock request until the run is in an answer.
 */
export async function runProbe(
  api: ApiClient,
  probe: BenchPool,
  window: Window,
  deliveries: Deliveries,
): Promise<ProbeSample[]> {
  const samples: ProbeSample[] = [];
  for (let tick = 0; ; tick++) {
    const slot = window.startAt + tick * SETTINGS.probeIntervalMs;
    if (slot >= window.endAt) break;
    await sleepUntil(slot);
    const sentAt = performance.now();
    const run = await api.call<{ id: string }>('POST', `/deployments/${probe.deploymentId}/create_flow_run`, {});
    const committedAt = performance.now();
    let seenAt: number | null = null;
    let polls = 0;
    while (seenAt === null && performance.now() - committedAt < SETTINGS.probeTimeoutMs) {
      const response = await poll(api, probe);
      polls++;
      if (deliveries.take(response).some((entry) => entry.flow_run.id === run.id)) seenAt = response.finishedAt;
    }
    samples.push({
      sentAt,
      fromCommitMs: seenAt && seenAt - committedAt,
      fromRequestMs: seenAt && seenAt - sentAt,
      polls,
    });
  }
  return samples;
}

/** Polls every pool until it has handed out at least one run (or the time is up); resolves to the pools that never did. */
export async function drainEveryPool(
  api: ApiClient,
  pools: BenchPool[],
  deliveries: Deliveries,
  timeoutMs: number,
): Promise<string[]> {
  const deadline = performance.now() + timeoutMs;
  const silent = await mapConcurrently(pools, async (pool) => {
    while (performance.now() < deadline) {
      if (deliveries.take(await poll(api, pool)).length > 0) return null;
      await sleepUntil(performance.now() + 100);
    }
    return pool.name;
  });
  return silent.filter((name): name is string => name !== null);
}

/** One poll at a time, nothing else in flight: the cost of a poll on its own. */
export async function sequentialPolls(
  api: ApiClient,
  pool: BenchPool,
  count: number,
  deliveries: Deliveries,
): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const response = await poll(api, pool);
    deliveries.take(response);
    latencies.push(response.finishedAt - response.startedAt);
  }
  return latencies;
}
