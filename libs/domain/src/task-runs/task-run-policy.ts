import type { TaskRunPolicy } from '@app/contracts';

/** Prefect's `TaskRunPolicy`, as stored (keys a client left out are filled in when read). */
export interface TaskRunPolicyJson {
  max_retries?: number;
  retry_delay_seconds?: number;
  retries?: number | null;
  retry_delay?: number | number[] | null;
  retry_jitter_factor?: number | null;
}

/** `TaskRunPolicy` with Prefect's defaults for every key a stored policy lacks. */
export function taskRunPolicy(stored: TaskRunPolicyJson | null | undefined): TaskRunPolicy {
  return {
    max_retries: 0,
    retry_delay_seconds: 0,
    retries: null,
    retry_delay: null,
    retry_jitter_factor: null,
    ...stored,
  };
}
