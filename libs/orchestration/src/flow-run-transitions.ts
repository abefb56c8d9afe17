import { AppConfig } from '@app/config';
import { StateCreateDto } from '@app/contracts';
import {
  deliveryAfterTransition,
  flowRunPolicy,
  OrchestratedRun,
  orchestratedRun,
  OrchestrationContext,
  OrchestrationOutcome,
  proposedState,
  runChanges,
  startedSinceScheduled,
  stateFromRow,
  stateRow,
  TransitionEnvironment,
  withoutDefaultDetails,
} from '@app/domain';
import { DispatchSignals } from '@app/messaging';
import {
  FlowRunEntity,
  FlowRunSurroundings,
  LockedForClaim,
  LockedForTransition,
  Transaction,
  TransitionContextRow,
  TransitionWrite,
} from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { transactionalDeploymentConcurrency } from './deployment-concurrency';
import { FlowRunStateEvents, NewRunsPlace, NewRunSubject } from './flow-run-state-events';

export type { NewRunsPlace } from './flow-run-state-events';

/** Who proposes a transition, as the rules see it. Server services propose as no client at all. */
export type TransitionClient = Pick<TransitionEnvironment, 'clientVersion' | 'apiVersion'>;

export interface TransitionOptions {
  client: TransitionClient;
  /** The policy the proposal goes through: the API's core (or forced) policy, the late-runs policy, ... */
  orchestrate: (context: OrchestrationContext) => Promise<OrchestrationOutcome>;
}

/** A run to create: its columns (its `id` chosen by the caller) and the state it is proposed to enter. */
export interface NewFlowRun {
  values: NewRunSubject & Record<string, unknown> & { parent_task_run_id: string | null; empirical_policy: unknown };
  proposal: StateCreateDto;
}

/**
 * A proposal that is a claim by a worker of the pool `workPoolId`: only a run in a queue of that pool is locked
 * (any other is unknown), and `alone` tells, from the locked run, whether the claimer must decide it in a transaction
 * of its own (a slot to count, an offer to refuse).
 */
export interface ClaimScope {
  workPoolId: string;
  alone: (locked: LockedForClaim) => boolean;
}

/** One proposal of a batch: the run `id`, the state proposed, and how; `claim` when it is a worker's claim. */
export interface ProposalFor {
  id: string;
  proposal: StateCreateDto;
  options: TransitionOptions;
  claim?: ClaimScope;
}

/**
 * What became of one proposal of a batch: its outcome (null when the run is unknown) with the run as written, or
 * `alone` when it must be proposed again in a transaction of its own (see {@link FlowRunTransitions.transitionManyById}).
 */
export type BatchedOutcome =
  { outcome: OrchestrationOutcome; run: FlowRunEntity } | { outcome: null } | { alone: true };

/**
 * Moves flow runs between states: the API's `set_state`, run creation and claims, and the scheduler's services all
 * orchestrate and commit a transition here, so every committed state takes the same path.
 */
@Injectable()
export class FlowRunTransitions {
  constructor(
    private readonly signals: DispatchSignals,
    private readonly config: AppConfig,
    private readonly events: FlowRunStateEvents,
  ) {}

  /**
   * Orchestrates `proposal` for `run` (locked by the caller, or created in this transaction) and records
   * the outcome.
   */
  async transition(
    tx: Transaction,
    run: FlowRunEntity,
    proposal: StateCreateDto,
    options: TransitionOptions,
  ): Promise<OrchestrationOutcome> {
    return (await this.transitionWith(tx, run, await tx.flowRuns.transitionContextOf(run), proposal, options)).outcome;
  }

  /** `transition` for the run `id`, locked here and read with its context in one statement; null when it is unknown. */
  async transitionById(
    tx: Transaction,
    id: string,
    proposal: StateCreateDto,
    options: TransitionOptions,
  ): Promise<OrchestrationOutcome | null> {
    const locked = await tx.flowRuns.lockForTransition(id);
    return locked && (await this.transitionWith(tx, locked.run, locked, proposal, options)).outcome;
  }

  /**
   * `transition` for a run the caller locked with its context (`lockForTransition`, `lockForClaim`), resolving also
   * to the run as this transaction left it (its written columns, `updated` as stored), so that it can be answered
   * without reading it again.
   */
  transitionLocked(
    tx: Transaction,
    locked: LockedForTransition,
    proposal: StateCreateDto,
    options: TransitionOptions,
  ): Promise<{ outcome: OrchestrationOutcome; run: FlowRunEntity }> {
    return this.transitionWith(tx, locked.run, locked, proposal, options);
  }

  /**
   * `transitionById` for many proposals in one transaction, each for a different run, answered in their order: the
   * runs are locked and read in one statement (in id order), each proposal is orchestrated in memory in turn, and
   * all the writes go in one statement. What follows a committed state is hooked per proposal, as `transition` does.
   * A proposal whose rules may take a deployment's advisory lock (its deployment has a concurrency limit, or its
   * state holds a lease) is not orchestrated: it comes back `alone`, to be proposed in a transaction of its own,
   * since a batch taking several deployments' locks in proposal order could deadlock with another batch. A rule
   * that throws rejects the whole batch (its statements may have run), for the caller to roll back. A claim (see
   * {@link ClaimScope}) of a run outside its pool is unknown, and one its scope wants decided alone comes back `alone`.
   */
  async transitionManyById(tx: Transaction, proposals: readonly ProposalFor[]): Promise<BatchedOutcome[]> {
    const ids = proposals.map(({ id }) => id);
    // A second proposal for a run must see the first's outcome, which an in-memory batch would not show it.
    if (new Set(ids).size !== ids.length) throw new Error('a batch of proposals holds two for one run');
    const pools = proposals.map(({ claim }) => claim?.workPoolId ?? null);
    const locked = await tx.flowRuns.lockManyForTransition(ids, pools);
    const orchestrated: { run: FlowRunEntity; write: TransitionWrite | null; outcome: OrchestrationOutcome }[] = [];
    const results: (BatchedOutcome | (typeof orchestrated)[number])[] = [];
    const hooks: (() => void)[] = [];
    for (const { id, proposal, options, claim } of proposals) {
      const context = locked.get(id);
      if (!context) {
        results.push({ outcome: null });
      } else if (mayTakeDeploymentLock(context) || claim?.alone(context)) {
        results.push({ alone: true });
      } else {
        const { before, outcome } = await this.orchestrate(tx, context, proposal, options);
        const write = this.writeOf(context.run, before, outcome);
        const done = { run: context.run, write, outcome };
        orchestrated.push(done);
        if (write) hooks.push(() => this.hookCommitted(tx, context.run, outcome, write, context.surroundings));
        results.push(done);
      }
    }
    const updated = await tx.flowRuns.commitTransitions(orchestrated.flatMap(({ write }) => write ?? []));
    for (const hook of hooks) hook();
    return results.map((result) =>
      'write' in result ? { outcome: result.outcome, run: writtenRun(result.run, result.write, updated) } : result,
    );
  }

  private async transitionWith(
    tx: Transaction,
    run: FlowRunEntity,
    context: TransitionContextRow,
    proposal: StateCreateDto,
    options: TransitionOptions,
  ): Promise<{ outcome: OrchestrationOutcome; run: FlowRunEntity }> {
    const { before, outcome } = await this.orchestrate(tx, { run, ...context }, proposal, options);
    return { outcome, run: await this.commit(tx, run, before, outcome, context.surroundings) };
  }

  /** Runs `proposal` through the rules for the locked `run`, in memory but for what the rules read or hold. */
  private async orchestrate(
    tx: Transaction,
    { run, current, marks, surroundings }: LockedForTransition,
    proposal: StateCreateDto,
    options: TransitionOptions,
  ): Promise<{ before: OrchestratedRun; outcome: OrchestrationOutcome }> {
    const now = new Date();
    const before = orchestratedRun(run);
    const context = new OrchestrationContext(
      orchestratedRun(run),
      current && stateFromRow(current),
      proposedState(proposal, now),
      {
        now,
        clientVersion: options.client.clientVersion,
        apiVersion: options.client.apiVersion,
        takenStateTimestamps: new Set(marks.map((mark) => mark.timestamp.getTime())),
        startedSinceScheduled: startedSinceScheduled(marks),
        deploymentConcurrency: transactionalDeploymentConcurrency(tx, this.config, surroundings.deployment),
      },
    );
    return { before, outcome: await options.orchestrate(context) };
  }

  /**
   * Creates runs set-based, each entering its proposed state as `transition` would have it enter from no state: every
   * run is orchestrated in memory (a new run has no state and no history to read), then all runs and their first
   * states are inserted in one statement. Runs whose idempotency key exists already are skipped, their state with
   * them. As after any committed state, the dispatcher is woken for SCHEDULED runs and each new run's state event is
   * published once the transaction commits, made from `place` (the flow, deployment, queues and pools the caller
   * loaded). Resolves to the ids inserted. The runs must share flow and deployment.
   */
  async createMany(
    tx: Transaction,
    runs: readonly NewFlowRun[],
    place: NewRunsPlace,
    options: TransitionOptions,
  ): Promise<Set<string>> {
    const now = new Date();
    // One environment for the batch: it is read-only, and nothing of it differs between new runs.
    const environment: TransitionEnvironment = {
      now,
      clientVersion: options.client.clientVersion,
      apiVersion: options.client.apiVersion,
      takenStateTimestamps: new Set(),
      startedSinceScheduled: false,
      deploymentConcurrency: transactionalDeploymentConcurrency(tx, this.config),
    };
    const created = [];
    for (const { values, proposal } of runs) {
      // A new run: no state, no history; the rules fill its bookkeeping in.
      const run: OrchestratedRun = {
        id: values.id,
        deployment_id: values.deployment_id,
        parent_task_run_id: values.parent_task_run_id,
        infrastructure_pid: null,
        state_type: null,
        state_name: null,
        state_timestamp: null,
        run_count: 0,
        start_time: null,
        end_time: null,
        total_run_time: 0,
        expected_start_time: null,
        next_scheduled_start_time: null,
        empirical_policy: flowRunPolicy(values.empirical_policy as Parameters<typeof flowRunPolicy>[0]),
      };
      const context = new OrchestrationContext(run, null, proposedState(proposal, now), environment);
      const outcome = await options.orchestrate(context);
      created.push({ values, outcome });
    }
    const written = created.flatMap(({ values, outcome }) =>
      outcome.written && outcome.state ? [{ run: values, after: outcome.run, state: outcome.state }] : [],
    );
    const inserted = await tx.flowRuns.insertManyWithStates(
      created.map(({ values, outcome }) => {
        const {
          id: _id,
          deployment_id: _d,
          parent_task_run_id: _p,
          infrastructure_pid: _i,
          ...bookkeeping
        } = outcome.run;
        const stateId = outcome.written && outcome.state ? outcome.state.id : null;
        return { ...values, ...bookkeeping, state_id: stateId };
      }),
      written.map(({ run, state }) => {
        const row = stateRow(state, run.id);
        return { ...row, state_details: withoutDefaultDetails(row.state_details) };
      }),
    );
    const committed = written.filter(({ run }) => inserted.has(run.id));
    if (committed.some(({ state }) => state.type === 'SCHEDULED')) tx.afterCommit(() => this.signals.requestDispatch());
    if (committed.length > 0) tx.afterCommit(() => this.events.publishNew(committed, place));
    return inserted;
  }

  /**
   * Where a flow run's transition is committed (`createMany` commits first states alike, set-based): the new state joins the run's history and
   * becomes current, and the run takes the bookkeeping the rules did. Whatever must follow a committed
   * state hangs off here, through `tx.afterCommit`. Resolves to the run as written (a copy: `run` stays as it was).
   */
  private async commit(
    tx: Transaction,
    run: FlowRunEntity,
    before: OrchestratedRun,
    outcome: OrchestrationOutcome,
    surroundings: FlowRunSurroundings,
  ): Promise<FlowRunEntity> {
    const write = this.writeOf(run, before, outcome);
    if (!write) return run;
    const updated = await tx.flowRuns.commitTransition(write.id, write.changes, write.state);
    this.hookCommitted(tx, run, outcome, write, surroundings);
    return writtenRun(run, write, new Map(updated ? [[run.id, updated]] : []));
  }

  /** The writes of a transition: none when the rules wrote no state and changed nothing. */
  private writeOf(run: FlowRunEntity, before: OrchestratedRun, outcome: OrchestrationOutcome): TransitionWrite | null {
    const changes = runChanges(before, outcome.run);
    if (outcome.written && outcome.state) {
      const delivery = deliveryAfterTransition(run, outcome.state, outcome.run.next_scheduled_start_time);
      return {
        id: before.id,
        changes: { ...changes, state_id: outcome.state.id, ...delivery },
        state: stateRow(outcome.state, before.id),
      };
    }
    return Object.keys(changes).length > 0 ? { id: before.id, changes, state: null } : null;
  }

  /**
   * What follows a committed state, once the transaction has committed: the dispatcher woken for a SCHEDULED state
   * that needs publishing, the state's event. A state that carries the run's publication over (a rename such as
   * Late) needs none: its message on the bus stands for it, and a burst outlasting LATE_RUNS_AFTER_SECONDS would
   * otherwise wake a pass per run marked, each finding nothing.
   */
  private hookCommitted(
    tx: Transaction,
    run: FlowRunEntity,
    outcome: OrchestrationOutcome,
    write: TransitionWrite,
    surroundings: FlowRunSurroundings,
  ): void {
    if (!outcome.written || !outcome.state) return;
    const publicationKept = 'dispatched_state_id' in write.changes;
    if (outcome.state.type === 'SCHEDULED' && !publicationKept) tx.afterCommit(() => this.signals.requestDispatch());
    const { initialState, state } = outcome;
    tx.afterCommit(() => this.events.publish(run, outcome.run, initialState, state, surroundings));
  }
}

/**
 * Whether orchestrating a transition of the run may take its deployment's advisory lock: when the deployment has a
 * concurrency limit (a claim takes a slot under it) or the current state holds a lease (renewed or kept under it).
 */
function mayTakeDeploymentLock({ current, surroundings }: TransitionContextRow): boolean {
  return (
    (surroundings.deployment !== null && surroundings.deployment.concurrency_limit !== null) ||
    Boolean(current?.state_details?.deployment_concurrency_lease_id)
  );
}

/** The run as `write` left it (a copy: `run` stays as it was), `updated` as stored when it was written. */
function writtenRun(run: FlowRunEntity, write: TransitionWrite | null, updated: Map<string, Date>): FlowRunEntity {
  if (!write) return run;
  return Object.assign(Object.create(Object.getPrototypeOf(run) as object) as FlowRunEntity, run, write.changes, {
    updated: updated.get(run.id) ?? run.updated,
  });
}
