import { ShutdownDrain } from '@app/config';
import { NatsCheckError, NatsClient } from '@app/messaging';
import { Database } from '@app/persistence';
import { Injectable } from '@nestjs/common';

/** Each check's budget, so that a probe answers within Kubernetes' default 1 s probe timeout. */
export const READINESS_TIMEOUT_MS = 800;

export type ReadinessPart = 'postgres' | 'nats' | 'jetstream';

/** `/api/ready`'s body: `ready` only when every part answered and the process is not draining. */
export interface ReadinessReport {
  status: 'ready' | 'not_ready' | 'draining';
  /** The parts that did not answer (empty when ready or only draining). */
  failing: ReadinessPart[];
  /** Per part: `ok`, or why not. */
  checks: Record<ReadinessPart, string>;
}

/**
 * Whether this process can serve (Kubernetes' readiness): Postgres answers `SELECT 1`, the NATS server a round
 * trip and the JetStream API an account-info request, each within {@link READINESS_TIMEOUT_MS}, and no shutdown
 * has begun. Liveness stays Prefect's `/api/health`, which checks nothing: an outage must not get the pod killed.
 */
@Injectable()
export class Readiness {
  constructor(
    private readonly db: Database,
    private readonly nats: NatsClient,
    private readonly drain: ShutdownDrain,
  ) {}

  async check(): Promise<ReadinessReport> {
    const checks: Record<ReadinessPart, string> = { postgres: 'ok', nats: 'ok', jetstream: 'ok' };
    await Promise.all([
      this.db.ping(READINESS_TIMEOUT_MS).catch((error: unknown) => {
        checks.postgres = reason(error);
      }),
      this.nats.check(READINESS_TIMEOUT_MS).catch((error: unknown) => {
        const part = error instanceof NatsCheckError ? error.part : 'nats';
        checks[part] = reason(error);
        // The JetStream API cannot answer without a server to carry the request.
        if (part === 'nats') checks.jetstream = 'not checked: NATS does not answer';
      }),
    ]);
    const failing = (Object.keys(checks) as ReadinessPart[]).filter((part) => checks[part] !== 'ok');
    const status = failing.length > 0 ? 'not_ready' : this.drain.draining ? 'draining' : 'ready';
    return { status, failing, checks };
  }
}

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));
