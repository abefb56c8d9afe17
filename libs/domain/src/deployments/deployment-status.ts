/** READY while a worker polls the deployment's queue recently, NOT_READY otherwise (Prefect's `DeploymentStatus`). */
export type DeploymentStatus = 'READY' | 'NOT_READY';
