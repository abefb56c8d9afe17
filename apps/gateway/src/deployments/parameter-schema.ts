import type { DeploymentCreateDto, DeploymentUpdateDto } from '@app/contracts';
import {
  badRequest,
  conflict,
  hydrateParameters,
  HydrationContext,
  HydrationError,
  ParameterSchemas,
  UnusableSchemaError,
  validationFailed,
  type ValidateOptions,
} from '@app/domain';
import { Injectable } from '@nestjs/common';

type Parameters = Record<string, unknown>;

/** This server stores no workspace variables, so a `workspace_variable` placeholder never resolves. */
const HYDRATION: HydrationContext = { workspaceVariables: new Map() };

/**
 * Prefect refuses to take parameters under schema enforcement when the deployment has no usable schema (a JSON
 * object), whether a deployment update or a run of the deployment brings them.
 */
export function requireEnforceableParameterSchema(enforce: boolean | null | undefined, schema: unknown): void {
  if (enforce && !isSchema(schema)) {
    throw conflict(
      'Error updating deployment: Cannot update parameters because parameter schema enforcement is enabled and the deployment does not have a valid parameter schema.',
    );
  }
}

const isSchema = (schema: unknown): schema is Parameters =>
  typeof schema === 'object' && schema !== null && !Array.isArray(schema);

function hydrate(parameters: Parameters, what: 'flow run' | 'deployment'): Parameters {
  try {
    return hydrateParameters(parameters, HYDRATION);
  } catch (error) {
    if (error instanceof HydrationError) throw badRequest(`Error hydrating ${what} parameters: ${error.message}`);
    throw error;
  }
}

/** Prefect's pydantic answer to a model validator's ValueError on the deployment body. */
const bodyValueError = (message: string, body: unknown) =>
  validationFailed([
    { type: 'value_error', loc: ['body'], msg: `Value error, ${message}`, input: body, ctx: { error: {} } },
  ]);

/**
 * A deployment's parameters against its `parameter_openapi_schema`, where and as Prefect 3.9.1 checks them: on
 * create (the body's model validator, when the body turns enforcement on), on update and on every run created from
 * the deployment, placeholders (`{"__prefect_kind": ...}`) hydrated first. Schema errors of a run or an update are
 * Prefect's unhandled ones (500).
 */
@Injectable()
export class DeploymentParameters {
  private readonly schemas = new ParameterSchemas();

  /** `DeploymentCreate`'s validators: a valid schema, and defaults that break none of its types (422). */
  checkCreate(body: DeploymentCreateDto): void {
    const schema = body.parameter_openapi_schema;
    if (!body.enforce_parameter_schema || !isSchema(schema)) return;
    const problem = this.schemas.schemaProblem(schema);
    if (problem) {
      throw bodyValueError(`The provided schema is not a valid json schema. Schema error: ${problem}`, body);
    }
    if (body.parameters === null) return;
    const failure = this.validated(body.parameters ?? {}, schema, { preprocess: false, ignoreRequired: true });
    if (failure) throw bodyValueError(failure, body);
  }

  /**
   * `PATCH /deployments/{id}`: sent parameters are hydrated (and stored so); under enforcement the parameters the
   * deployment will have must fit the schema it will have, required ones aside (409). Returns the parameters to
   * store, if the body sent any.
   */
  checkUpdate(
    existing: { parameters: Parameters; parameter_openapi_schema: unknown; enforce_parameter_schema: boolean },
    body: DeploymentUpdateDto,
  ): Parameters | undefined {
    const sent = body.parameters ? hydrate(body.parameters, 'deployment') : undefined;
    const enforce = body.enforce_parameter_schema ?? existing.enforce_parameter_schema;
    if (!enforce) return sent;
    const schema =
      body.parameter_openapi_schema && Object.keys(body.parameter_openapi_schema).length > 0
        ? body.parameter_openapi_schema
        : existing.parameter_openapi_schema;
    requireEnforceableParameterSchema(enforce, schema);
    const failure = this.validated(sent ?? existing.parameters, schema as Parameters, {
      preprocess: true,
      ignoreRequired: true,
    });
    if (failure) throw conflict(`Error updating deployment: ${failure}`);
    return sent;
  }

  /**
   * `POST /deployments/{id}/create_flow_run`: the deployment's parameters under the run's, hydrated; under
   * enforcement (the run's choice, else the deployment's) they must fit the schema, required ones included (409).
   */
  forNewRun(
    deployment: { parameters: Parameters; parameter_openapi_schema: unknown; enforce_parameter_schema: boolean },
    run: { parameters?: Parameters | null; enforce_parameter_schema?: boolean | null },
  ): Parameters {
    const parameters = hydrate({ ...deployment.parameters, ...run.parameters }, 'flow run');
    const enforce = run.enforce_parameter_schema ?? deployment.enforce_parameter_schema;
    if (!enforce) return parameters;
    requireEnforceableParameterSchema(enforce, deployment.parameter_openapi_schema);
    const failure = this.validated(parameters, deployment.parameter_openapi_schema as Parameters, {
      preprocess: true,
      ignoreRequired: false,
    });
    if (failure) throw conflict(`Error creating flow run: ${failure}`);
    return parameters;
  }

  /**
   * One run of `POST /deployments/{id}/create_flow_run/bulk`: as {@link forNewRun}, but a run whose parameters do not
   * fit is reported in its place (Prefect's `FAILED` result and its message) instead of refusing the request.
   */
  forBulkRun(
    deployment: { parameters: Parameters; parameter_openapi_schema: unknown; enforce_parameter_schema: boolean },
    run: { parameters?: Parameters | null; enforce_parameter_schema?: boolean | null },
  ): { parameters: Parameters } | { failure: string } {
    const parameters = hydrate({ ...deployment.parameters, ...run.parameters }, 'flow run');
    const enforce = run.enforce_parameter_schema ?? deployment.enforce_parameter_schema;
    if (!enforce) return { parameters };
    const schema = deployment.parameter_openapi_schema;
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
      return { failure: 'Parameter schema enforcement is enabled but deployment has no valid schema.' };
    }
    const failure = this.validated(parameters, schema as Parameters, { preprocess: true, ignoreRequired: false });
    return failure ? { failure: `Parameter validation failed: ${failure}` } : { parameters };
  }

  private validated(parameters: Parameters, schema: Parameters, options: ValidateOptions): string | null {
    try {
      return this.schemas.validate(parameters, schema, options);
    } catch (error) {
      // Prefect's jsonschema refuses such a schema before validating, unhandled.
      if (error instanceof UnusableSchemaError) {
        throw new Error(`Unusable parameter schema: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
}
