import { formatDateTime, FlowResponse } from '@app/contracts';
import type { ResourceRow } from './resource-row';

/** The flow columns `Flow` shows. */
export interface FlowRow extends ResourceRow {
  name: string;
  tags: string[];
  labels: Record<string, unknown>;
}

export function presentFlow(flow: FlowRow): FlowResponse {
  return {
    id: flow.id,
    created: formatDateTime(flow.created),
    updated: formatDateTime(flow.updated),
    name: flow.name,
    tags: flow.tags,
    labels: flow.labels,
  };
}
