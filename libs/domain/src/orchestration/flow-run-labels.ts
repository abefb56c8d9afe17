type Labels = Record<string, unknown>;

/**
 * The labels a new flow run gets (Prefect's `with_system_labels_for_flow_run`): its parent's labels (the
 * deployment's for a deployment run, else the flow's), then the system labels, then the client's, later
 * ones winning.
 */
export function flowRunLabels(options: {
  flowId: string;
  deployment?: { id: string; labels: Labels | null } | null;
  flowLabels?: Labels | null;
  requested?: Labels | null;
}): Labels {
  const { flowId, deployment, flowLabels, requested } = options;
  const system: Labels = { 'prefect.flow.id': flowId };
  if (deployment) system['prefect.deployment.id'] = deployment.id;
  const parent = deployment ? deployment.labels : flowLabels;
  return { ...parent, ...system, ...requested };
}
