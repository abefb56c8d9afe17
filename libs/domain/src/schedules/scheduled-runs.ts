import { flowRunPolicy } from '../orchestration/orchestrated-run';
import { generateRunName } from '../orchestration/run-names';
import { datesToSchedule, SchedulingWindow } from './schedule-dates';
import type {
  ScheduledRunRow,
  ScheduledRunTemplateRow,
  SchedulerDeployment,
  SchedulerSchedule,
} from './scheduled-run-rows';
import { scheduleClassName } from './schedule-types';
import { pythonDateTimeString } from './zone-clock';

/** The runs of a scheduler pass, ready for one set-based insert. */
export interface ScheduledRuns {
  templates: ScheduledRunTemplateRow[];
  runs: ScheduledRunRow[];
}

/** Prefect's state for a new scheduled run: `Scheduled(scheduled_time=date, message="Flow run scheduled")`. */
export const SCHEDULED_RUN_STATE = { type: 'SCHEDULED', name: 'Scheduled', message: 'Flow run scheduled' } as const;

/** The policy a new run carries (Prefect's `FlowRunPolicy()` defaults). */
export const DEFAULT_RUN_POLICY = flowRunPolicy(undefined);

/** What Prefect's `_generate_scheduled_flow_runs` gives every run of this deployment schedule. */
export function scheduledRunTemplate(
  deployment: SchedulerDeployment,
  schedule: SchedulerSchedule,
): ScheduledRunTemplateRow {
  return {
    flow_id: deployment.flow_id,
    deployment_id: deployment.id,
    deployment_version: deployment.version,
    work_queue_name: deployment.work_queue_name,
    work_queue_id: deployment.work_queue_id,
    parameters: { ...deployment.parameters, ...schedule.parameters },
    infrastructure_document_id: deployment.infrastructure_document_id,
    tags: ['auto-scheduled', ...deployment.tags],
    labels: { ...deployment.labels, 'prefect.flow.id': deployment.flow_id, 'prefect.deployment.id': deployment.id },
    created_by: {
      id: schedule.id,
      display_value: schedule.slug || scheduleClassName(schedule.schedule),
      type: 'SCHEDULE',
    },
  };
}

/**
 * The runs the scheduler creates for these deployments from `start` (Prefect's `_generate_scheduled_flow_runs`, for
 * each active schedule of each deployment): one per date of the waterfall, keyed
 * `scheduled <deployment id> <schedule id> <date in the schedule's zone, as Python prints it>` so that creating them
 * again changes nothing. A schedule whose dates cannot be computed is reported to `onError` and skipped with its
 * deployment, as Prefect skips a deployment whose scheduling raises.
 */
export function scheduledRuns(
  deployments: SchedulerDeployment[],
  schedules: SchedulerSchedule[],
  start: Date,
  window: SchedulingWindow,
  onError: (deploymentId: string, error: unknown) => void = () => undefined,
): ScheduledRuns {
  const result: ScheduledRuns = { templates: [], runs: [] };
  for (const deployment of deployments) {
    const ofDeployment = schedules.filter((schedule) => schedule.deployment_id === deployment.id);
    let runs: ScheduledRunRow[] = [];
    const templates: ScheduledRunTemplateRow[] = [];
    try {
      for (const schedule of ofDeployment) {
        const template = result.templates.length + templates.length;
        templates.push(scheduledRunTemplate(deployment, schedule));
        for (const date of datesToSchedule(schedule.schedule, start, window)) {
          runs.push({
            template,
            name: generateRunName(),
            idempotency_key: `scheduled ${deployment.id} ${schedule.id} ${pythonDateTimeString(date.instant, date.offset)}`,
            scheduled_time: new Date(date.instant),
          });
        }
      }
    } catch (error) {
      onError(deployment.id, error);
      runs = [];
      templates.length = 0;
    }
    result.templates.push(...templates);
    result.runs.push(...runs);
  }
  return result;
}
