import type { StateCreateDto } from '@app/contracts';
import {
  EnforceDeploymentConcurrencyOnLate,
  EnsureOnlyScheduledFlowsMarkedLate,
  GLOBAL_FLOW_POLICY,
  orchestrate,
  OrchestrationContext,
  OrchestrationOutcome,
  Policy,
} from '../orchestration';

/** Prefect's late-runs service marks at most this many runs per query. */
export const LATE_RUNS_BATCH_SIZE = 400;

/**
 * Prefect's `MarkLateRunsPolicy`. Its `InstrumentFlowRunStateTransitions` is the flow-run event every committed state
 * emits, so it is not a rule here.
 */
export const MARK_LATE_RUNS_POLICY: Policy = [EnsureOnlyScheduledFlowsMarkedLate, EnforceDeploymentConcurrencyOnLate];

/** Marking a run late as Prefect's late-runs service does: `MarkLateRunsPolicy`, then the global bookkeeping. */
export function orchestrateLateRun(context: OrchestrationContext): Promise<OrchestrationOutcome> {
  return orchestrate(context, [MARK_LATE_RUNS_POLICY, GLOBAL_FLOW_POLICY]);
}

/** Prefect's `Late(scheduled_time=...)`: a SCHEDULED state named `Late`, due when the run was due. */
export function lateState(scheduledTime: Date | null): StateCreateDto {
  return { type: 'SCHEDULED', name: 'Late', state_details: { scheduled_time: scheduledTime } };
}
