import { flowRunStateEvent, OrchestratedRun, RunState } from '@app/domain';
import { EventPublisher } from '@app/messaging';
import { Database, FlowRunEntity } from '@app/persistence';
import { Injectable } from '@nestjs/common';

/** Publishes `prefect.flow-run.<state name>` for a committed state, with the run's flow, deployment, queue and pool. */
@Injectable()
export class FlowRunStateEvents {
  constructor(
    private readonly db: Database,
    private readonly publisher: EventPublisher,
  ) {}

  /** `run` as it was read for the transition, `after` its bookkeeping once `state` was committed. */
  async publish(run: FlowRunEntity, after: OrchestratedRun, initial: RunState | null, state: RunState): Promise<void> {
    const { flows, deployments, workQueues, workPools } = this.db.repos;
    const [flow, deployment, workQueue] = await Promise.all([
      flows.findById(run.flow_id),
      run.deployment_id ? deployments.findById(run.deployment_id) : null,
      run.work_queue_id ? workQueues.findById(run.work_queue_id) : null,
    ]);
    const workPool = workQueue && (await workPools.findById(workQueue.work_pool_id));
    const subject = {
      run: { id: run.id, name: run.name, tags: run.tags, run_count: after.run_count, created_by: run.created_by },
      flow,
      deployment,
      workQueue,
      workPool,
    };
    this.publisher.publish([flowRunStateEvent(subject, initial, state)]);
  }
}
