import type { ConcurrencyOptions } from '../deployments/concurrency-options';
import { managesDeploymentConcurrency, renewsConcurrencyLeases } from './client-versions';
import type { TransitionEnvironment } from './context';
import { OrchestrationRule, UniversalTransform } from './rule';
import { ALL_ORCHESTRATION_STATES, newState, RunState, StateType } from './states';

/** A deployment's concurrency settings, as the rules read them. */
export interface DeploymentConcurrencySettings {
  /** Null when the deployment sets no limit. */
  concurrency_limit: number | null;
  concurrency_options: ConcurrencyOptions | null;
}

/**
 * The slots of deployment concurrency limits, held as leases by flow runs. A lease that expires frees its slot;
 * acquiring and renewing are atomic against every other orchestration of the deployment's runs.
 */
export interface DeploymentLeases {
  /** One of the deployment's `limit` slots for the run, leased for `ttlSeconds`: the lease id, or null when all are held. */
  acquire(deploymentId: string, flowRunId: string, limit: number, ttlSeconds: number): Promise<string | null>;
  /** Extends a live lease to `ttlSeconds` from now; false when it expired or is gone. */
  renew(leaseId: string, ttlSeconds: number): Promise<boolean>;
  /** Keeps a live lease's slot until it is released; false when it expired or is gone. */
  holdUntilReleased(leaseId: string): Promise<boolean>;
  /** Frees every slot the run holds. */
  releaseHeldBy(flowRunId: string): Promise<void>;
  /** How many of the deployment's slots are busy now. */
  countLive(deploymentId: string): Promise<number>;
}

/** What deployment concurrency needs from beyond the run. */
export interface DeploymentConcurrency {
  readonly deployments: { findById(id: string): Promise<DeploymentConcurrencySettings | null> };
  readonly leases: DeploymentLeases;
  /** How far ahead a run that found no free slot is rescheduled (`ENQUEUE`). */
  readonly slotWaitSeconds: number;
  /** A lease's life when the deployment sets no grace period. */
  readonly defaultLeaseSeconds: number;
}

/** The states in which a run occupies its deployment's slot. */
const SLOT_STATES: ReadonlySet<StateType | null> = new Set<StateType | null>(['PENDING', 'RUNNING', 'CANCELLING']);

const holdsSlot = (state: RunState | null): boolean => state !== null && SLOT_STATES.has(state.type);

function leaseSeconds(deployment: DeploymentConcurrencySettings, environment: TransitionEnvironment): number {
  return deployment.concurrency_options?.grace_period_seconds ?? environment.deploymentConcurrency.defaultLeaseSeconds;
}

const LIMIT_REACHED = 'Deployment concurrency limit reached.';

/**
 * Takes a slot of the deployment's concurrency limit when a run is claimed (→ PENDING), so a worker secures it
 * before provisioning infrastructure. The lease id goes into the PENDING state's details. With no free slot the
 * run is rescheduled (`AwaitingConcurrencySlot`) or, under `CANCEL_NEW`, cancelled.
 */
export class SecureFlowConcurrencySlots extends OrchestrationRule {
  static override readonly fromStates = new Set([...ALL_ORCHESTRATION_STATES].filter((type) => !SLOT_STATES.has(type)));
  static override readonly toStates: ReadonlySet<StateType | null> = new Set<StateType | null>(['PENDING']);
  private acquired = false;

  protected override async beforeTransition(_initial: RunState | null, proposed: RunState | null): Promise<void> {
    const { run, environment } = this.context;
    if (!run.deployment_id || !proposed || managesDeploymentConcurrency(environment.clientVersion)) return;
    const { deployments, leases, slotWaitSeconds } = environment.deploymentConcurrency;
    const deployment = await deployments.findById(run.deployment_id);
    if (!deployment) return this.abort('Deployment not found.');
    const limit = deployment.concurrency_limit;
    if (limit === null) return;
    if (limit === 0) {
      return this.abort('The deployment concurrency limit is 0. The flow will deadlock if submitted again.');
    }

    const leaseId = await leases.acquire(run.deployment_id, run.id, limit, leaseSeconds(deployment, environment));
    if (leaseId) {
      proposed.state_details.deployment_concurrency_lease_id = leaseId;
      this.acquired = true;
    } else if (deployment.concurrency_options?.collision_strategy === 'CANCEL_NEW') {
      this.reject(newState('CANCELLED', environment.now, { message: LIMIT_REACHED }), LIMIT_REACHED);
    } else {
      const scheduledTime = new Date(environment.now.getTime() + slotWaitSeconds * 1000);
      this.reject(
        newState('SCHEDULED', environment.now, {
          name: 'AwaitingConcurrencySlot',
          state_details: { scheduled_time: scheduledTime },
        }),
        LIMIT_REACHED,
      );
    }
  }

  protected override async cleanup(_initial: RunState | null, validated: RunState | null): Promise<void> {
    if (!this.acquired) return;
    await this.context.environment.deploymentConcurrency.leases.releaseHeldBy(this.context.run.id);
    if (validated) validated.state_details.deployment_concurrency_lease_id = null;
  }
}

/**
 * Renews the run's lease when it starts RUNNING, since a slot may have been reclaimed while infrastructure was
 * provisioned. A lost lease is taken again if a slot is free; otherwise the run is cancelled, as it cannot be
 * rescheduled once infrastructure exists. Only clients that renew leases are checked: older ones could not have
 * kept theirs alive.
 */
export class ValidateDeploymentConcurrencyAtRunning extends OrchestrationRule {
  static override readonly fromStates: ReadonlySet<StateType | null> = new Set<StateType | null>(['PENDING']);
  static override readonly toStates: ReadonlySet<StateType | null> = new Set<StateType | null>(['RUNNING']);
  private reacquired = false;

  protected override async beforeTransition(initial: RunState | null, proposed: RunState | null): Promise<void> {
    if (!initial || !proposed) return;
    const leaseId = initial.state_details.deployment_concurrency_lease_id;
    proposed.state_details.deployment_concurrency_lease_id = leaseId;
    const { run, environment } = this.context;
    if (!leaseId || !renewsConcurrencyLeases(environment.clientVersion) || !run.deployment_id) return;

    const { deployments, leases } = environment.deploymentConcurrency;
    const deployment = await deployments.findById(run.deployment_id);
    if (!deployment || deployment.concurrency_limit === null) return;
    const ttlSeconds = leaseSeconds(deployment, environment);
    if (await leases.renew(leaseId, ttlSeconds)) return;

    const newLeaseId = await leases.acquire(run.deployment_id, run.id, deployment.concurrency_limit, ttlSeconds);
    if (newLeaseId) {
      proposed.state_details.deployment_concurrency_lease_id = newLeaseId;
      this.reacquired = true;
      return;
    }
    this.reject(
      newState('CANCELLED', environment.now, {
        message: 'Deployment concurrency slot lost during provisioning - no slots available to continue execution',
      }),
      'Deployment concurrency limit reached after lease expiry.',
    );
  }

  protected override async cleanup(): Promise<void> {
    if (this.reacquired) await this.context.environment.deploymentConcurrency.leases.releaseHeldBy(this.context.run.id);
  }
}

/**
 * A client too old to renew leases would lose its slot mid-run when the lease expired: once it starts (or is
 * cancelled), its lease is kept until the run leaves its slot.
 */
export class RemoveDeploymentConcurrencyLeaseForOldClientVersions extends OrchestrationRule {
  static override readonly fromStates: ReadonlySet<StateType | null> = new Set<StateType | null>(['PENDING']);
  static override readonly toStates: ReadonlySet<StateType | null> = new Set<StateType | null>([
    'RUNNING',
    'CANCELLING',
  ]);

  protected override async afterTransition(initial: RunState | null): Promise<void> {
    const leaseId = initial?.state_details.deployment_concurrency_lease_id;
    const { environment } = this.context;
    if (!leaseId || renewsConcurrencyLeases(environment.clientVersion)) return;
    await environment.deploymentConcurrency.leases.holdUntilReleased(leaseId);
  }
}

/**
 * A run about to be marked Late whose deployment is full under `CANCEL_NEW` is cancelled instead: it would only
 * be cancelled once claimed, and runs that never get claimed would pile up as Late.
 */
export class EnforceDeploymentConcurrencyOnLate extends OrchestrationRule {
  static override readonly fromStates: ReadonlySet<StateType | null> = new Set<StateType | null>(['SCHEDULED']);
  static override readonly toStates: ReadonlySet<StateType | null> = new Set<StateType | null>(['SCHEDULED']);

  protected override async beforeTransition(initial: RunState | null, proposed: RunState | null): Promise<void> {
    const { run, environment } = this.context;
    if (!initial || proposed?.name !== 'Late' || !run.deployment_id) return;
    const { deployments, leases } = environment.deploymentConcurrency;
    const deployment = await deployments.findById(run.deployment_id);
    const limit = deployment?.concurrency_limit ?? null;
    if (limit === null || deployment?.concurrency_options?.collision_strategy !== 'CANCEL_NEW') return;
    if ((await leases.countLive(run.deployment_id)) >= limit) {
      this.reject(
        newState('CANCELLED', environment.now, { message: LIMIT_REACHED }),
        'Deployment concurrency limit is full and uses the CANCEL_NEW strategy.',
      );
    }
  }
}

/**
 * A run leaving PENDING, RUNNING or CANCELLING for any other state gives its deployment's slot back, except when
 * it fails into an in-process retry: its process keeps running, renewing the lease across the retry delay.
 */
export class ReleaseFlowConcurrencySlots extends UniversalTransform {
  protected override async afterTransition(): Promise<void> {
    const { run, initialState, proposedState, environment, status } = this.context;
    if (!run.deployment_id || !holdsSlot(initialState) || holdsSlot(proposedState)) return;
    if (status === 'REJECT' && proposedState?.type === 'SCHEDULED' && proposedState.name === 'AwaitingRetry') return;
    await environment.deploymentConcurrency.leases.releaseHeldBy(run.id);
  }
}
