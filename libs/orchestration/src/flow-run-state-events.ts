import { FlowRunEventSubject, flowRunStateEvent, OrchestratedRun, RunState } from '@app/domain';
import { EventPublisher } from '@app/messaging';
import { Database, FlowRunEntity, FlowRunSurroundings } from '@app/persistence';
import { Injectable } from '@nestjs/common';

/** What a new run's state event names of it. */
export type NewRunSubject = Pick<
  FlowRunEntity,
  'id' | 'name' | 'tags' | 'created_by' | 'flow_id' | 'deployment_id' | 'work_queue_id'
>;

/**
 * The flow, deployment, queues and pools new runs of one deployment belong to, as their creator loaded them: the
 * events of those runs are made from them, without reading them again.
 */
export interface NewRunsPlace {
  flow: FlowRunEventSubject['flow'];
  deployment: FlowRunEventSubject['deployment'];
  /** Per work queue id, the queue and its pool. */
  queues: ReadonlyMap<string, Pick<FlowRunEventSubject, 'workQueue' | 'workPool'>>;
}

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
   * The same event for many new runs of one flow and deployment at once, made from `place` (no read), sent in one
   * batch in the order of `created`.
   */
  publishNew(created: { run: NewRunSubject; after: OrchestratedRun; state: RunState }[], place: NewRunsPlace): void {
    if (created.length === 0) return;
    const { flow, deployment, queues } = place;
    this.publisher.publish(
      created.map(({ run, after, state }) => {
        const queue = run.work_queue_id ? queues.get(run.work_queue_id) : undefined;
        const subject = {
          run: { id: run.id, name: run.name, tags: run.tags, run_count: after.run_count, created_by: run.created_by },
          flow,
          deployment,
          workQueue: queue?.workQueue ?? null,
          workPool: queue?.workPool ?? null,
        };
        return flowRunStateEvent(subject, null, state);
      }),
    );
  }
}
