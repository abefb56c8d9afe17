import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Prefect 3.9.1's OpenAPI document (see test/fixtures/NOTICE.md). */
const SPEC_PATH = path.resolve(__dirname, '../fixtures/prefect-openapi.json');

export interface OpenApiOperation {
  parameters?: { name: string; in: string; required?: boolean; schema: unknown }[];
  requestBody?: { content?: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}

export const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, unknown> };
};

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
ajv.addSchema(spec, 'openapi');

const compiled = new Map<string, ReturnType<typeof ajv.compile>>();

/**
 * Asserts that `body` is what Prefect's OpenAPI document promises for `method path` answering `status`
 * (`path` as written in the document, e.g. `/work_pools/{name}`).
 */
export function expectMatchesOpenApi(method: string, specPath: string, status: number, body: unknown): void {
  const key = `${method.toLowerCase()} ${specPath} ${status}`;
  let validate = compiled.get(key);
  if (!validate) {
    const operation = spec.paths[specPath]?.[method.toLowerCase()];
    if (!operation) throw new Error(`no operation ${method} ${specPath} in the OpenAPI document`);
    // Prefect answers 201 on some creates that its document lists only as 200 (and vice versa): same schema.
    const documented = Object.keys(operation.responses).find((code) => code.startsWith('2'));
    const response =
      operation.responses[String(status)] ??
      (status >= 200 && status < 300 && documented ? operation.responses[documented] : undefined);
    if (!response) throw new Error(`${method} ${specPath} documents no ${status} response`);
    const schema = response.content?.['application/json']?.schema ?? {};
    const rewritten = JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"openapi#/components/'));
    validate = ajv.compile(rewritten);
    compiled.set(key, validate);
  }
  if (!validate(body)) {
    throw new Error(
      `${key} response does not match the OpenAPI schema:\n${ajv.errorsText(validate.errors, { separator: '\n' })}\nbody: ${JSON.stringify(body).slice(0, 2000)}`,
    );
  }
}

/** Asserts a response's status and validates its body against the document. */
export function expectOperation(
  response: { status: number; body: unknown },
  method: string,
  specPath: string,
  status: number,
): void {
  if (response.status !== status) {
    throw new Error(
      `expected ${status} from ${method} ${specPath}, got ${response.status}: ${JSON.stringify(response.body)}`,
    );
  }
  if (status !== 204) expectMatchesOpenApi(method, specPath, status, response.body);
}
