import { speaksCurrentApi } from './context';
import {
  ReleaseFlowConcurrencySlots,
  RemoveDeploymentConcurrencyLeaseForOldClientVersions,
  SecureFlowConcurrencySlots,
  ValidateDeploymentConcurrencyAtRunning,
} from './deployment-concurrency';
import { HandlePausingFlows, HandleResumingPausedFlows } from './pause-policy';
import { OrchestrationRule, Policy, UniversalTransform } from './rule';
import { ALL_ORCHESTRATION_STATES, isFinal, newState, RunState, StateType, TERMINAL_STATE_TYPES } from './states';

const states = (...types: (StateType | null)[]): ReadonlySet<StateType | null> => new Set(types);

/** Prefect's `_has_persisted_result`: result metadata (an object) that was not marked unpersisted. */
function hasPersistedResult(data: unknown): boolean {
  return (
    typeof data === 'object' &&
    data !== null &&
    !Array.isArray(data) &&
    (data as { type?: unknown }).type !== 'unpersisted'
  );
}

/** Python truthiness of state data: `None`, `{}`, `[]`, `""`, `0` and `false` are empty. */
function hasData(data: unknown): boolean {
  if (typeof data === 'object' && data !== null) return Object.keys(data).length > 0;
  return Boolean(data);
}

/** Carries the deployment concurrency lease forward when a client proposes a state without it. */
export class PreserveDeploymentConcurrencyLeaseId extends UniversalTransform {
  protected override async beforeTransition(proposed: RunState): Promise<void> {
    const leaseId = this.context.initialState?.state_details.deployment_concurrency_lease_id;
    if (leaseId && !proposed.state_details.deployment_concurrency_lease_id) {
      proposed.state_details.deployment_concurrency_lease_id = leaseId;
    }
  }
}

/** A retried request (same `transition_id` as the current state) gets the current state back. */
export class PreventDuplicateTransitions extends OrchestrationRule {
  static override readonly fromStates = ALL_ORCHESTRATION_STATES;
  static override readonly toStates = ALL_ORCHESTRATION_STATES;

  protected override async beforeTransition(initial: RunState | null, proposed: RunState | null): Promise<void> {
    if (!initial || !proposed) return;
    const previous = initial.state_details.transition_id;
    if (previous && previous === proposed.state_details.transition_id) {
      this.reject(null, 'This run has already made this state transition.');
    }
  }
}

/**
 * The claim fence: a run that finished after a start (its history holds a PENDING or RUNNING state newer than its
 * last SCHEDULED one) is not started again by a PENDING proposal, however late it comes — a holder whose claim was
 * lost and whose lease ran out, a retried request. Prefect would let such a run go back to PENDING (unless it
 * holds a persisted result) and run it twice. Runs put back on schedule first (a manual retry through
 * AwaitingRetry, a resumed suspension) are SCHEDULED, not finished, and unaffected. It comes after
 * `PreventDuplicateTransitions`, so that a resent claim that already won is still answered as a duplicate.
 */
export class PreventRestartingFinishedRuns extends OrchestrationRule {
  static override readonly fromStates = states('COMPLETED', 'FAILED', 'CRASHED');
  static override readonly toStates = states('PENDING');

  protected override async beforeTransition(initial: RunState | null, proposed: RunState | null): Promise<void> {
    if (!initial || !proposed || !this.context.environment.startedSinceScheduled) return;
    this.abort(
      `This run has already been started and is in a ${initial.type} state; it cannot transition to a PENDING state.`,
    );
  }
}

/**
 * Guards runs that finished: no CANCELLING/PAUSED/CRASHED after the fact, no leaving a COMPLETED state that
 * holds a persisted result, no rescheduling without a deployment. A run that may leave (a manual retry)
 * has its pause bookkeeping reset, restored if the transition later changes.
 */
export class HandleFlowTerminalStateTransitions extends OrchestrationRule {
  static override readonly fromStates: ReadonlySet<StateType | null> = TERMINAL_STATE_TYPES;
  static override readonly toStates = ALL_ORCHESTRATION_STATES;
  private originalPolicy = this.context.run.empirical_policy;

  protected override async beforeTransition(initial: RunState | null, proposed: RunState | null): Promise<void> {
    if (!initial || !proposed) return;
    this.originalPolicy = { ...this.context.run.empirical_policy };

    if (proposed.type === 'CANCELLING' || proposed.type === 'PAUSED' || proposed.type === 'CRASHED') {
      return this.abort(`Run is already in terminal state ${initial.type}.`);
    }
    const completedWithResult =
      initial.type === 'COMPLETED' && hasData(initial.data) && hasPersistedResult(initial.data);
    if (completedWithResult && !isFinal(proposed)) {
      return this.reject(null, 'Run is already COMPLETED.');
    }
    if (completedWithResult && proposed.type === 'COMPLETED' && !hasPersistedResult(proposed.data)) {
      return this.reject(
        null,
        'Cannot overwrite a COMPLETED state that carries persisted result data with one that does not.',
      );
    }
    if (proposed.type === 'SCHEDULED' && !this.context.run.deployment_id) {
      return this.abort('Cannot reschedule a run without an associated deployment.');
    }
    if (!isFinal(proposed) && speaksCurrentApi(this.context.environment)) {
      this.context.run.empirical_policy = {
        ...this.context.run.empirical_policy,
        resuming: false,
        pause_keys: [],
        retry_type: proposed.type === 'SCHEDULED' ? 'reschedule' : null,
      };
    }
  }

  protected override async cleanup(): Promise<void> {
    this.context.run.empirical_policy = this.originalPolicy;
  }
}

/** The lighter data-loss guard the forced policy keeps. */
export class PreventResultDataLoss extends OrchestrationRule {
  static override readonly fromStates: ReadonlySet<StateType | null> = TERMINAL_STATE_TYPES;
  static override readonly toStates: ReadonlySet<StateType | null> = TERMINAL_STATE_TYPES;

  protected override async beforeTransition(initial: RunState | null, proposed: RunState | null): Promise<void> {
    if (!initial || !proposed) return;
    if (
      initial.type === 'COMPLETED' &&
      proposed.type === 'COMPLETED' &&
      hasData(initial.data) &&
      hasPersistedResult(initial.data) &&
      !hasPersistedResult(proposed.data)
    ) {
      this.reject(
        null,
        'Cannot overwrite a COMPLETED state that carries persisted result data with one that does not.',
      );
    }
  }
}

/** A CANCELLING run may only become CANCELLED. */
export class EnforceCancellingToCancelledTransition extends OrchestrationRule {
  static override readonly fromStates = states('CANCELLING');
  static override readonly toStates = states(...[...ALL_ORCHESTRATION_STATES].filter((type) => type !== 'CANCELLED'));

  protected override async beforeTransition(): Promise<void> {
    this.reject(null, 'Cannot transition flows that are cancelling to a state other than Cancelled.');
  }
}

/** Cancelling a run that has no infrastructure to tear down goes straight to CANCELLED. */
export class BypassCancellingFlowRunsWithNoInfra extends OrchestrationRule {
  static override readonly fromStates = states('SCHEDULED', 'PAUSED');
  static override readonly toStates = states('CANCELLING');

  protected override async beforeTransition(initial: RunState | null, proposed: RunState | null): Promise<void> {
    if (!initial || !proposed) return;
    const { now } = this.context.environment;
    if ((initial.type === 'SCHEDULED' && !this.context.run.infrastructure_pid) || initial.name === 'Resuming') {
      this.reject(newState('CANCELLED', now), 'Scheduled flow run has no infrastructure to terminate.');
    } else if (initial.type === 'PAUSED' && initial.state_details.pause_reschedule) {
      this.reject(newState('CANCELLED', now), 'Suspended flow run has no infrastructure to terminate.');
    }
  }
}

/**
 * What makes a claim exclusive: a run already PENDING, RUNNING, CANCELLING or CANCELLED cannot be moved to
 * PENDING again, so a second worker proposing PENDING is told to give the run up. A PENDING run may move
 * on to a differently named PENDING sub-state (Pending → Submitting → ...), never back to "Pending".
 */
export class PreventPendingTransitions extends OrchestrationRule {
  static override readonly fromStates = states('PENDING', 'CANCELLING', 'RUNNING', 'CANCELLED');
  static override readonly toStates = states('PENDING');

  protected override async beforeTransition(initial: RunState | null, proposed: RunState | null): Promise<void> {
    if (!initial || !proposed) return;
    if (initial.type === 'PENDING' && initial.name !== proposed.name && proposed.name !== 'Pending') {
      proposed.state_details.scheduled_time = initial.state_details.scheduled_time;
      proposed.state_details.deployment_concurrency_lease_id = initial.state_details.deployment_concurrency_lease_id;
      return;
    }
    this.abort(`This run is in a ${initial.type} state and cannot transition to a PENDING state.`);
  }
}

/** Only a SCHEDULED run that is not yet late can be marked Late. */
export class EnsureOnlyScheduledFlowsMarkedLate extends OrchestrationRule {
  static override readonly fromStates = ALL_ORCHESTRATION_STATES;
  static override readonly toStates = states('SCHEDULED');

  protected override async beforeTransition(initial: RunState | null, proposed: RunState | null): Promise<void> {
    if (!initial || !proposed || proposed.name !== 'Late') return;
    if (initial.type !== 'SCHEDULED') this.reject(null, 'Only scheduled flows can be marked late.');
    else if (initial.name === 'Late') this.reject(null, 'This flow run is already marked late.');
  }
}

/** A PENDING state keeps the time its run was scheduled for, unless it proposes its own. */
export class CopyScheduledTime extends OrchestrationRule {
  static override readonly fromStates = states('SCHEDULED');
  static override readonly toStates = states('PENDING');

  protected override async beforeTransition(initial: RunState | null, proposed: RunState | null): Promise<void> {
    if (!initial || !proposed) return;
    proposed.state_details.scheduled_time ??= initial.state_details.scheduled_time;
  }
}

/**
 * Prefect's delay rounding: whole seconds, plus one when the fractional part is over half a second (Python's
 * `round` sends exactly .5 to the even neighbour, 0).
 */
export function delaySeconds(scheduledTime: Date, now: Date): number {
  const millis = scheduledTime.getTime() - now.getTime();
  const seconds = Math.floor(millis / 1000);
  return seconds + (millis - seconds * 1000 > 500 ? 1 : 0);
}

/** A run may not start RUNNING before its scheduled time, by the server's clock: the client is told to wait. */
export class WaitForScheduledTime extends OrchestrationRule {
  static override readonly fromStates = states('SCHEDULED', 'PENDING');
  static override readonly toStates = states('RUNNING');

  protected override async beforeTransition(initial: RunState | null, proposed: RunState | null): Promise<void> {
    const scheduledTime = initial?.state_details.scheduled_time;
    if (!proposed || !scheduledTime) return;
    const delay = delaySeconds(scheduledTime, this.context.environment.now);
    if (delay > 0) this.delay(delay, 'Scheduled time is in the future');
  }
}

/**
 * A run that fails while it has retries left is rescheduled instead (`AwaitingRetry`, after `retry_delay`), to be
 * retried by the process that ran it: `retry_type = "in_process"` keeps it from workers, and it keeps its
 * deployment concurrency slot. A run out of retries fails, and loses its retry type so that it can be retried
 * from outside later.
 */
export class RetryFailedFlows extends OrchestrationRule {
  static override readonly fromStates = states('RUNNING');
  static override readonly toStates = states('FAILED');

  protected override async beforeTransition(initial: RunState | null, proposed: RunState | null): Promise<void> {
    if (!initial || !proposed) return;
    const { run, environment } = this.context;
    const { retries, retry_delay: retryDelay } = run.empirical_policy;
    if (retries === null || run.run_count > retries) {
      run.empirical_policy = { ...run.empirical_policy, retry_type: null };
      return;
    }
    if (speaksCurrentApi(environment)) {
      run.empirical_policy = { ...run.empirical_policy, resuming: false, pause_keys: [], retry_type: 'in_process' };
    }
    const scheduledTime = new Date(environment.now.getTime() + (retryDelay ?? 0) * 1000);
    const retry = newState('SCHEDULED', environment.now, {
      name: 'AwaitingRetry',
      message: proposed.message,
      data: proposed.data,
      state_details: {
        scheduled_time: scheduledTime,
        deployment_concurrency_lease_id: initial.state_details.deployment_concurrency_lease_id,
      },
    });
    this.reject(retry, 'Retrying');
  }
}

/**
 * Prefect's `CoreFlowPolicy`, in its order, plus the claim fence (`PreventRestartingFinishedRuns`), but for
 * `InstrumentFlowRunStateTransitions`: a committed state's event is published where the state is committed.
 */
export const CORE_FLOW_POLICY: Policy = [
  PreserveDeploymentConcurrencyLeaseId,
  PreventDuplicateTransitions,
  PreventRestartingFinishedRuns,
  HandleFlowTerminalStateTransitions,
  EnforceCancellingToCancelledTransition,
  BypassCancellingFlowRunsWithNoInfra,
  PreventPendingTransitions,
  ValidateDeploymentConcurrencyAtRunning,
  SecureFlowConcurrencySlots,
  RemoveDeploymentConcurrencyLeaseForOldClientVersions,
  EnsureOnlyScheduledFlowsMarkedLate,
  HandlePausingFlows,
  HandleResumingPausedFlows,
  CopyScheduledTime,
  WaitForScheduledTime,
  RetryFailedFlows,
  ReleaseFlowConcurrencySlots,
];

/** Prefect's `MinimalFlowPolicy`, for forced transitions (and a new run's first state). */
export const MINIMAL_FLOW_POLICY: Policy = [
  PreserveDeploymentConcurrencyLeaseId,
  PreventResultDataLoss,
  BypassCancellingFlowRunsWithNoInfra,
  ReleaseFlowConcurrencySlots,
];
