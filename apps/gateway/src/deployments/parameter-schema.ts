import { conflict } from '@app/domain';

/**
 * Prefect refuses to take parameters under schema enforcement when the deployment has no usable schema (a JSON
 * object), whether a deployment update or a run of the deployment brings them.
 */
export function requireEnforceableParameterSchema(enforce: boolean | null | undefined, schema: unknown): void {
  if (enforce && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
    throw conflict(
      'Error updating deployment: Cannot update parameters because parameter schema enforcement is enabled and the deployment does not have a valid parameter schema.',
    );
  }
}
