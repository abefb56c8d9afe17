import { MetricsRegistry } from '@app/observability';
import { Injectable } from '@nestjs/common';

export type PollOutcome = 'runs' | 'empty' | 'error';
export type ClaimResult = 'ACCEPT' | 'REJECT' | 'ABORT' | 'WAIT';

/**
 * The gateway's own metrics, defined here once; the poll and claim paths report to them through the methods below
 * (a timer read and a counter bump each, nothing that allocates per label set on the hot path).
 */
@Injectable()
export class GatewayMetrics {
  private readonly pollDuration;
  private readonly pollWait;
  private readonly runsHandedOut;
  private readonly claims;
  private readonly setStateDuration;

  constructor(metrics: MetricsRegistry) {
    this.pollDuration = metrics.histogram(
      'poll_duration_seconds',
      'Time to answer get_scheduled_flow_runs, long-poll waits included, by outcome (runs, empty, error)',
      ['outcome'],
    );
    this.pollWait = metrics.histogram(
      'poll_wait_seconds',
      'Time long polls (Prefer: wait) spent waiting for runs to arrive',
    );
    this.runsHandedOut = metrics.counter('runs_handed_out_total', 'Flow runs leased to HTTP pollers');
    this.claims = metrics.counter(
      'claims_total',
      'Claims (PENDING proposals over HTTP set_state or NATS) by orchestration result',
      ['result'],
    );
    this.setStateDuration = metrics.histogram(
      'set_state_duration_seconds',
      'Time to orchestrate and commit a flow run state proposal (HTTP set_state and NATS claims)',
    );
  }

  /** Times a poll and counts what it handed out. */
  async poll<Answer extends { runs: readonly unknown[] }>(answer: () => Promise<Answer>): Promise<Answer> {
    const started = performance.now();
    try {
      const result = await answer();
      const { length } = result.runs;
      this.pollDuration.observe({ outcome: length > 0 ? 'runs' : 'empty' }, seconds(started));
      this.runsHandedOut.inc(length);
      return result;
    } catch (error) {
      this.pollDuration.observe({ outcome: 'error' }, seconds(started));
      throw error;
    }
  }

  pollWaited(waitedSeconds: number): void {
    this.pollWait.observe(waitedSeconds);
  }

  /** Times a state proposal; a claim's result is counted once it is known. */
  async setState<T>(propose: () => Promise<T>, claimResult: (answer: T) => ClaimResult | null): Promise<T> {
    const started = performance.now();
    const answer = await propose();
    this.setStateDuration.observe(seconds(started));
    const result = claimResult(answer);
    if (result !== null) this.claims.inc({ result });
    return answer;
  }
}

const seconds = (startedMs: number): number => (performance.now() - startedMs) / 1000;
