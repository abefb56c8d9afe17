import { AppConfig } from '@app/config';
import { WorkerFilterRequestDto, WorkerHeartbeatDto, WorkerResponse } from '@app/contracts';
import { notFound, presentWorker, resolveLimit, statusTransitionStamp, workPoolStatusEvent } from '@app/domain';
import { EventPublisher } from '@app/messaging';
import { Database } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { requireWorkPool } from './work-pool.helpers';

@Injectable()
export class WorkerService {
  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly events: EventPublisher,
  ) {}

  /**
   * Records the worker ONLINE (upsert on pool + name) and, the first time a worker shows up in a NOT_READY
   * pool, makes the pool READY (`prefect.work-pool.ready`). PAUSED and READY pools keep their status.
   */
  async heartbeat(workPoolName: string, body: WorkerHeartbeatDto): Promise<void> {
    await this.db.transaction(async (tx) => {
      const pool = await requireWorkPool(tx.workPools, workPoolName);
      await tx.workers.recordHeartbeat(pool.id, body.name, 'ONLINE', body.heartbeat_interval_seconds);
      if (pool.status === 'NOT_READY') {
        // Conditional, so concurrent heartbeats stamp (and announce) a single transition.
        const transition = { status: 'READY' as const, ...statusTransitionStamp(new Date()) };
        if (await tx.workPools.updateIfStatus(pool.id, 'NOT_READY', transition)) {
          const event = workPoolStatusEvent({ ...pool, ...transition }, pool);
          tx.afterCommit(() => this.events.publish([event]));
        }
      }
    });
  }

  async filter(workPoolName: string, body: WorkerFilterRequestDto): Promise<WorkerResponse[]> {
    const limit = resolveLimit(body.limit, this.config.api.defaultLimit);
    const pool = await requireWorkPool(this.db.repos.workPools, workPoolName);
    const workers = await this.db.repos.workers.find(pool.id, body.workers, body.offset, limit);
    return workers.map(presentWorker);
  }

  async delete(workPoolName: string, name: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const pool = await requireWorkPool(tx.workPools, workPoolName);
      if (!(await tx.workers.deleteByName(pool.id, name))) throw notFound('Worker not found.');
    });
  }

  /**
   * The websocket worker channel is not offered. Newer workers try it first; a 404 is what makes them fall
   * back to the REST endpoints for good (a 5xx would have them retry it).
   */
  connectChannel(): never {
    throw notFound('Not Found');
  }
}
