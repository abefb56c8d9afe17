import type { FlowRunPolicy } from '@app/contracts';
import type { StateType } from './states';

/** `FlowRunPolicy` with Prefect's defaults for every key a stored policy lacks. */
export function flowRunPolicy(stored: Partial<FlowRunPolicy> | null | undefined): FlowRunPolicy {
  const policy: FlowRunPolicy = {
    max_retries: 0,
    retry_delay_seconds: 0,
    retries: null,
    retry_delay: null,
    pause_keys: [],
    resuming: false,
    retry_type: null,
    ...stored,
  };
  // Prefect's `populate_deprecated_fields`: the deprecated names still set the new ones.
  if (!policy.retries && policy.max_retries !== 0) policy.retries = policy.max_retries;
  if (!policy.retry_delay && policy.retry_delay_seconds !== 0) policy.retry_delay = policy.retry_delay_seconds;
  return policy;
}

/** What orchestration may read and change on a run: its bookkeeping fields, copied out of the row. */
export interface OrchestratedRun {
  readonly id: string;
  readonly deployment_id: string | null;
  readonly parent_task_run_id: string | null;
  readonly infrastructure_pid: string | null;
  state_type: StateType | null;
  state_name: string | null;
  state_timestamp: Date | null;
  run_count: number;
  start_time: Date | null;
  end_time: Date | null;
  /** Seconds. */
  total_run_time: number;
  expected_start_time: Date | null;
  next_scheduled_start_time: Date | null;
  empirical_policy: FlowRunPolicy;
}

/** The flow-run columns orchestration reads: its bookkeeping fields, the policy as stored. */
export type OrchestratedRunRow = Omit<OrchestratedRun, 'empirical_policy'> & {
  empirical_policy: Partial<FlowRunPolicy>;
};

export function orchestratedRun(run: OrchestratedRunRow): OrchestratedRun {
  return {
    id: run.id,
    deployment_id: run.deployment_id,
    parent_task_run_id: run.parent_task_run_id,
    infrastructure_pid: run.infrastructure_pid,
    state_type: run.state_type,
    state_name: run.state_name,
    state_timestamp: run.state_timestamp,
    run_count: run.run_count,
    start_time: run.start_time,
    end_time: run.end_time,
    total_run_time: run.total_run_time,
    expected_start_time: run.expected_start_time,
    next_scheduled_start_time: run.next_scheduled_start_time,
    empirical_policy: flowRunPolicy(run.empirical_policy),
  };
}

type MutableRunFields = Omit<OrchestratedRun, 'id' | 'deployment_id' | 'parent_task_run_id' | 'infrastructure_pid'>;

const comparable = (value: unknown): unknown =>
  value instanceof Date ? value.getTime() : typeof value === 'object' && value !== null ? JSON.stringify(value) : value;

/** The fields orchestration changed, to be written back to the run. */
export function runChanges(before: OrchestratedRun, after: OrchestratedRun): Partial<MutableRunFields> {
  const changes: Partial<MutableRunFields> = {};
  for (const key of Object.keys(after) as (keyof OrchestratedRun)[]) {
    if (comparable(before[key]) !== comparable(after[key])) Object.assign(changes, { [key]: after[key] });
  }
  return changes;
}
