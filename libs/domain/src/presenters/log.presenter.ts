import { formatDateTime, LogResponse } from '@app/contracts';
import type { LogEntity } from '@app/persistence';

export function presentLog(log: LogEntity): LogResponse {
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
