import type { SetStateStatus, StateResponseDetails } from '@app/contracts';
import type { OrchestrationContext } from './context';
import type { OrchestratedRun } from './orchestrated-run';
import { Policy, rulesFor, Transition } from './rule';
import type { RunState } from './states';

export interface OrchestrationOutcome {
  status: SetStateStatus;
  details: StateResponseDetails;
  /** The state the run is in afterwards: the new one, or the current one when nothing is written. */
  state: RunState | null;
  /** Whether `state` is new and must be recorded. */
  written: boolean;
  /** The state the run was in before. */
  initialState: RunState | null;
  /** The run's bookkeeping fields after the transition. */
  run: OrchestratedRun;
}

/**
 * Runs a proposed transition through `policies` (rules first, then bookkeeping), each rule nested inside the
 * previous one as in Prefect: all enter in order, the proposed state is validated, all exit in reverse.
 * The caller stores the outcome.
 */
export async function orchestrate(
  context: OrchestrationContext,
  policies: readonly Policy[],
): Promise<OrchestrationOutcome> {
  const from = context.initialStateType;
  const to = context.proposedStateType;
  const entered: Transition[] = [];
  for (const policy of policies) {
    for (const Rule of rulesFor(policy, from, to)) {
      const rule = new Rule(context, from, to);
      const entering = rule.enter();
      if (entering) await entering;
      entered.push(rule);
    }
  }
  context.validatedState = context.proposedState ?? context.initialState;
  for (const rule of entered.reverse()) {
    const exiting = rule.exit();
    if (exiting) await exiting;
  }
  return {
    status: context.status,
    details: context.details,
    state: context.validatedState,
    written: context.proposedState !== null,
    initialState: context.initialState,
    run: context.run,
  };
}
