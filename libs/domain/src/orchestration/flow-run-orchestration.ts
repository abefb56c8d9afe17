import type { OrchestrationContext } from './context';
import { CORE_FLOW_POLICY, MINIMAL_FLOW_POLICY } from './core-policy';
import { orchestrate, OrchestrationOutcome } from './engine';
import { GLOBAL_FLOW_POLICY } from './global-policy';

/**
 * Orchestrates a flow run transition as Prefect's `set_flow_run_state` does: the core rules, or only the
 * minimal ones when the client forces the state, then the global bookkeeping.
 */
export function orchestrateFlowRun(
  context: OrchestrationContext,
  options: { force: boolean },
): Promise<OrchestrationOutcome> {
  return orchestrate(context, [options.force ? MINIMAL_FLOW_POLICY : CORE_FLOW_POLICY, GLOBAL_FLOW_POLICY]);
}
