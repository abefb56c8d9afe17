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

/**
 * The labels a new task run gets (Prefect's `with_system_labels_for_task_run`): its flow run's labels, then
 * `prefect.flow-run.id`, then the client's, later ones winning. A task run without a flow run has only the client's.
 */
export function taskRunLabels(
  flowRun: { id: string; labels: Labels | null } | null,
  requested?: Labels | null,
): Labels {
  const inherited: Labels = flowRun ? { ...flowRun.labels, 'prefect.flow-run.id': flowRun.id } : {};
  return { ...inherited, ...requested };
}
