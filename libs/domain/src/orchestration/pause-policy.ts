import { randomUUID } from 'node:crypto';
import { speaksCurrentApi } from './context';
import { OrchestrationRule } from './rule';
import { ALL_ORCHESTRATION_STATES, isFinal, newState, RunState, StateType } from './states';

const pauseVerb = (proposed: RunState): string => (proposed.name === 'Suspended' ? 'suspend' : 'pause');

/**
 * Only a RUNNING run may pause, and each pause (by its `pause_key`) only once; a pause that reschedules the run
 * (a suspension) needs a deployment to bring it back and is not for subflows.
 */
export class HandlePausingFlows extends OrchestrationRule {
  static override readonly fromStates = ALL_ORCHESTRATION_STATES;
  static override readonly toStates: ReadonlySet<StateType | null> = new Set<StateType | null>(['PAUSED']);
  private key = '';

  protected override async beforeTransition(initial: RunState | null, proposed: RunState | null): Promise<void> {
    if (!proposed) return;
    const verb = pauseVerb(proposed);
    if (!initial) return this.abort(`Cannot ${verb} flows with no state.`);
    if (initial.type !== 'RUNNING') return this.reject(null, `Cannot ${verb} flows that are not currently running.`);

    const key = proposed.state_details.pause_key ?? randomUUID();
    const { run } = this.context;
    if ((run.empirical_policy.pause_keys ?? []).includes(key)) {
      return this.reject(null, `This ${verb} has already fired.`);
    }
    if (proposed.state_details.pause_reschedule) {
      if (run.parent_task_run_id) return this.abort(`Cannot ${verb} subflows.`);
      if (!run.deployment_id) return this.abort(`Cannot ${verb} flows without a deployment.`);
    }
    this.key = key;
  }

  protected override async afterTransition(): Promise<void> {
    const policy = this.context.run.empirical_policy;
    this.context.run.empirical_policy = {
      ...policy,
      pause_keys: [...new Set([...(policy.pause_keys ?? []), this.key])],
    };
  }
}

/**
 * A PAUSED run may only resume (RUNNING), be rescheduled, be cancelled or finish; a suspended one needs its
 * deployment, and a pause past its timeout fails the run (cancelling still goes through, to reach the worker).
 */
export class HandleResumingPausedFlows extends OrchestrationRule {
  static override readonly fromStates: ReadonlySet<StateType | null> = new Set<StateType | null>(['PAUSED']);
  static override readonly toStates = ALL_ORCHESTRATION_STATES;

  protected override async beforeTransition(initial: RunState | null, proposed: RunState | null): Promise<void> {
    if (!initial || !proposed) return;
    if (!['RUNNING', 'SCHEDULED', 'CANCELLING'].includes(proposed.type) && !isFinal(proposed)) {
      // Prefect formats the state type enums here, which print with their class name.
      return this.reject(
        null,
        `This run cannot transition to the StateType.${proposed.type} state from the StateType.${initial.type} state.`,
      );
    }
    const verb = pauseVerb(proposed);
    const displayName = (proposed.name || proposed.type).toLowerCase();
    if (initial.state_details.pause_reschedule && !this.context.run.deployment_id) {
      return this.reject(null, `Cannot reschedule a ${displayName} flow run without a deployment.`);
    }
    const timeout = initial.state_details.pause_timeout;
    const { now } = this.context.environment;
    if (proposed.type !== 'CANCELLING' && timeout && timeout < now) {
      this.reject(
        newState('FAILED', now, { message: `The flow was ${displayName} and never resumed.` }),
        `The flow run ${verb} has timed out and can no longer resume.`,
      );
    }
  }

  /**
   * The run is marked as resuming, unless a blocking pause (resumed in its process) ends in a SCHEDULED state:
   * then the run starts over, and its pauses must fire again.
   */
  protected override async afterTransition(initial: RunState | null, validated: RunState | null): Promise<void> {
    const { run, environment } = this.context;
    const startsOver =
      !initial?.state_details.pause_reschedule && validated?.type === 'SCHEDULED' && speaksCurrentApi(environment);
    run.empirical_policy = startsOver
      ? { ...run.empirical_policy, resuming: false, pause_keys: [], retry_type: 'reschedule' }
      : { ...run.empirical_policy, resuming: true };
  }
}
