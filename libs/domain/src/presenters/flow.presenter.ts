import { formatDateTime, FlowResponse } from '@app/contracts';
import type { FlowEntity } from '@app/persistence';

export function presentFlow(flow: FlowEntity): FlowResponse {
  return {
    id: flow.id,
    created: formatDateTime(flow.created),
    updated: formatDateTime(flow.updated),
    name: flow.name,
    tags: flow.tags,
    labels: flow.labels,
  };
}
