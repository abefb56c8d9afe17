import { flowRunStateEvent, OrchestratedRun, RunState } from '@app/domain';
import { EventPublisher } from '@app/messaging';
import { Database, FlowRunEntity, FlowRunSurroundings } from '@app/persistence';
import { Injectable } from '@nestjs/common';

/** What a new run's state event names of it. */
export type NewRunSubject = Pick<
  FlowRunEntity,
  'id' | 'name' | 'tags' | 'created_by' | 'flow_id' | 'deployment_id' | 'work_queue_id'
>;

/** Publishes `prefect.flow-run.<state name>` for a committed state, with the run's flow, deployment, queue and pool. */
@Injectable()
export class FlowRunStateEvents {
  constructor(
    private readonly db: Database,
    private readonly publisher: EventPublisher,
  ) {}

  /**
   * `run` as it was read for the transition, `after` its bookkeeping once `state` was committed, and its flow,
   * deployment, queue and pool as the transition read them (in its transaction, so nothing is read here).
   */
  publish(
    run: FlowRunEntity,
    after: OrchestratedRun,
    initial: RunState | null,
    state: RunState,
    { flow, deployment, workQueue, workPool }: FlowRunSurroundings,
  ): void {
    const subject = {
      run: { id: run.id, name: run.name, tags: run.tags, run_count: after.run_count, created_by: run.created_by },
      flow,
      deployment,
      workQueue,
      workPool,
    };
    this.publisher.publish([flowRunStateEvent(subject, initial, state)]);
  }

  /**
   * The same event for many new runs of one flow and deployment at once: each flow, deployment, queue and pool is
   * read once, and the events go out in one batch, in the order of `created`.
   */
  async publishNew(created: { run: NewRunSubject; after: OrchestratedRun; state: RunState }[]): Promise<void> {
    if (created.length === 0) return;
    const { flows, deployments, workQueues, workPools } = this.db.repos;
    const first = created[0].run;
    const [flow, deployment] = await Promise.all([
      flows.findById(first.flow_id),
      first.deployment_id ? deployments.findById(first.deployment_id) : null,
    ]);
    const queueIds = [...new Set(created.flatMap(({ run }) => (run.work_queue_id ? [run.work_queue_id] : [])))];
    const queues = new Map(
      await Promise.all(
        queueIds.map(async (id) => {
          const workQueue = await workQueues.findById(id);
          const workPool = workQueue && (await workPools.findById(workQueue.work_pool_id));
          return [id, { workQueue, workPool }] as const;
        }),
      ),
    );
    this.publisher.publish(
      created.map(({ run, after, state }) => {
        const place = run.work_queue_id ? queues.get(run.work_queue_id) : undefined;
        const subject = {
          run: { id: run.id, name: run.name, tags: run.tags, run_count: after.run_count, created_by: run.created_by },
          flow,
          deployment,
          workQueue: place?.workQueue ?? null,
          workPool: place?.workPool ?? null,
        };
        return flowRunStateEvent(subject, null, state);
      }),
    );
  }
}
