import { formatDateTime, LogResponse } from '@app/contracts';
import type { ResourceRow } from './resource-row';

/** The log columns `Log` shows. */
export interface LogRow extends ResourceRow {
  name: string;
  level: number;
  message: string;
  timestamp: Date;
  flow_run_id: string | null;
  task_run_id: string | null;
}

export function presentLog(log: LogRow): LogResponse {
  return {
    id: log.id,
    created: formatDateTime(log.created),
    updated: formatDateTime(log.updated),
    name: log.name,
    level: log.level,
    message: log.message,
    timestamp: formatDateTime(log.timestamp)!,
    flow_run_id: log.flow_run_id,
    task_run_id: log.task_run_id,
  };
}
