/*
 * Prefect's `validate_base_job_template` (the pydantic validator on WorkPoolCreate/WorkPoolUpdate): an empty
 * template is fine; otherwise it needs a `job_configuration` and a `variables` schema, and every `{{ name }}`
 * placeholder used in the job configuration must be declared under `variables.properties`.
 */

// Prefect's `PLACEHOLDER_CAPTURE_REGEX`. It runs over `json.dumps` output, which is pure ASCII, so an
// ASCII `\w` over JSON.stringify output finds the same names.
const PLACEHOLDER = /\{\{\s*([\w.\-[\]$]+)\s*\}\}/g;

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Python truthiness of a JSON value (`{}`, `[]`, `""`, `0`, `false` and null are falsy). */
function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.keys(value).length > 0;
  return Boolean(value);
}

/** Placeholder names in order of first use. */
function placeholders(jobConfiguration: JsonObject): string[] {
  const names = new Set<string>();
  for (const value of Object.values(jobConfiguration)) {
    for (const match of JSON.stringify(value).matchAll(PLACEHOLDER)) names.add(match[1]);
  }
  return [...names];
}

/** Prefect's message for an invalid base job template, or null when the template is acceptable. */
export function baseJobTemplateError(template: JsonObject): string | null {
  if (Object.keys(template).length === 0) return null;
  const jobConfiguration = template.job_configuration;
  const variables = template.variables;
  // Non-object sections make Prefect fail with a 500; they are as unusable as missing ones, so say that.
  if (!(truthy(jobConfiguration) && truthy(variables)) || !isObject(jobConfiguration) || !isObject(variables)) {
    return 'The `base_job_template` must contain both a `job_configuration` key and a `variables` key.';
  }
  const declared = isObject(variables.properties) ? Object.keys(variables.properties) : [];
  const undeclared = placeholders(jobConfiguration).filter((name) => !declared.includes(name));
  if (undeclared.length === 0) return null;
  return (
    'The variables specified in the job configuration template must be present as properties in the variables schema. ' +
    // Prefect joins with ' ,' (sic).
    `Your job configuration uses the following undeclared variable(s): ${undeclared.join(' ,')}.`
  );
}
