import type { StateDetails, StateType } from '@app/contracts';

/** A state as a flow run's or a task run's history stores it (Prefect's `State` columns). */
export interface StoredRunState {
  id: string;
  type: StateType;
  name: string;
  timestamp: Date;
  message: string | null;
  data: unknown;
  /** Prefect's `StateDetails` JSON; rows written by older code may lack keys, so readers fill in defaults. */
  state_details: Partial<StateDetails>;
}

/** One row of a flow run's state history. */
export interface FlowRunStateRow extends StoredRunState {
  flow_run_id: string;
}
