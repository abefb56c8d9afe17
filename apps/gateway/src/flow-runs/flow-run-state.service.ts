import { OrchestrationResult, SetFlowRunStateDto, StateCreateDto } from '@app/contracts';
import { objectNotFound, orchestrateFlowRun, OrchestrationOutcome, presentOrchestrationResult } from '@app/domain';
import { BatchedOutcome, FlowRunProposals, FlowRunTransitions, NewFlowRun, NewRunsPlace } from '@app/orchestration';
import { FlowRunEntity, LockedForClaim, LockedForTransition, Transaction } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { GatewayMetrics } from '@gateway/metrics/gateway-metrics';
import type { OrchestrationClient } from './orchestration-client.decorator';

/** Moves flow runs between states through Prefect's orchestration rules. */
@Injectable()
export class FlowRunStateService {
  constructor(
    private readonly transitions: FlowRunTransitions,
    private readonly proposals: FlowRunProposals,
    private readonly metrics: GatewayMetrics,
  ) {}

  /**
   * `POST /flow_runs/{id}/set_state`. The run stays locked from the read to the commit, so concurrent
   * proposals for one run are orchestrated one after the other: of two workers claiming a SCHEDULED run,
   * the second sees PENDING and is told to abort. Concurrent calls share a transaction (see `FlowRunProposals`).
   * `created` says whether a new state was written.
   */
  async setState(
    id: string,
    body: SetFlowRunStateDto,
    client: OrchestrationClient,
  ): Promise<{ result: OrchestrationResult; created: boolean }> {
    const force = body.force === true;
    const propose = async () => {
      const outcome = await this.proposals.propose(id, body.state, {
        client,
        orchestrate: (context) => orchestrateFlowRun(context, { force }),
      });
      if (!outcome) throw objectNotFound(`Flow run with id ${id} not found`);
      return { result: presentOrchestrationResult(outcome), created: outcome.written };
    };
    // A PENDING proposal is a worker's claim.
    return this.metrics.setState(propose, ({ result }) => (body.state.type === 'PENDING' ? result.status : null));
  }

  /**
   * A worker's claim of `request.flow_run_id` for the pool `poolId`, through Prefect's core policy in a transaction
   * shared with concurrent proposals (see `FlowRunProposals.claim`): `alone` when the caller must decide it itself.
   */
  claimInBatch(
    poolId: string,
    request: { flow_run_id: string; transition_id: string },
    alone: (locked: LockedForClaim) => boolean,
  ): Promise<BatchedOutcome> {
    return this.proposals.claim(
      request.flow_run_id,
      { workPoolId: poolId, alone },
      { type: 'PENDING', state_details: { transition_id: request.transition_id } },
      {
        client: { clientVersion: null, apiVersion: null },
        orchestrate: (context) => orchestrateFlowRun(context, { force: false }),
      },
    );
  }

  /**
   * Creates runs set-based, each entering its proposed state as a forced transition from none (as `transition` does
   * for one new run); resolves to the ids inserted (a run whose idempotency key exists is not). Their events are made
   * from `place`.
   */
  createMany(
    tx: Transaction,
    runs: readonly NewFlowRun[],
    place: NewRunsPlace,
    client: OrchestrationClient,
  ): Promise<Set<string>> {
    return this.transitions.createMany(tx, runs, place, {
      client,
      orchestrate: (context) => orchestrateFlowRun(context, { force: true }),
    });
  }

  /**
   * Orchestrates `proposal` for `run` (locked by the caller, or created in this transaction) through Prefect's
   * core policy, or its minimal one when forced, and records the outcome.
   */
  transition(
    tx: Transaction,
    run: FlowRunEntity,
    proposal: StateCreateDto,
    options: { force: boolean; client: OrchestrationClient },
  ): Promise<OrchestrationOutcome> {
    return this.transitions.transition(tx, run, proposal, {
      client: options.client,
      orchestrate: (context) => orchestrateFlowRun(context, { force: options.force }),
    });
  }

  /** `transition` for a run the caller locked with its context; resolves also to the run as written. */
  transitionLocked(
    tx: Transaction,
    locked: LockedForTransition,
    proposal: StateCreateDto,
    options: { force: boolean; client: OrchestrationClient },
  ): Promise<{ outcome: OrchestrationOutcome; run: FlowRunEntity }> {
    return this.transitions.transitionLocked(tx, locked, proposal, {
      client: options.client,
      orchestrate: (context) => orchestrateFlowRun(context, { force: options.force }),
    });
  }
}
