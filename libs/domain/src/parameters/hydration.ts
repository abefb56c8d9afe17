/**
 * Prefect's parameter hydration (`prefect.utilities.schema_tools.hydration`), as the server applies it to a run's
 * parameters before validating them (`raise_on_error`, jinja and workspace variables rendered): values shaped
 * `{"__prefect_kind": ...}` are placeholders the UI sends.
 */
export class HydrationError extends Error {}

/** What hydration can look up: the workspace variables (this server stores none). */
export interface HydrationContext {
  workspaceVariables: ReadonlyMap<string, unknown>;
}

const REMOVE = Symbol('remove');
/** A hydrated value, or {@link REMOVE}: the placeholder is dropped from its parent. */
type Hydrated = unknown;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const missingKey = (key: string) => new HydrationError(`Missing '${key}' key in __prefect object`);

/** Jinja syntax: text without any is rendered as itself. */
const JINJA = /\{\{|\{%|\{#/;

function handle(kind: unknown, placeholder: Record<string, unknown>, context: HydrationContext): Hydrated {
  switch (kind) {
    case 'none':
      if (!('value' in placeholder)) throw missingKey('value');
      return hydrateValue(placeholder.value, context);
    case 'json': {
      if (!('value' in placeholder)) return REMOVE;
      const value = isObject(placeholder.value) ? hydrateValue(placeholder.value, context) : placeholder.value;
      if (value === REMOVE || typeof value !== 'string') return value;
      try {
        return JSON.parse(value) as unknown;
      } catch (error) {
        throw new HydrationError(`Invalid JSON: ${pythonJsonError(value, error as Error)}`);
      }
    }
    case 'jinja': {
      if (!('template' in placeholder)) throw missingKey('template');
      const template = isObject(placeholder.template)
        ? hydrateValue(placeholder.template, context)
        : placeholder.template;
      if (template === REMOVE) return template;
      if (typeof template === 'string' && JINJA.test(template)) {
        // Rendering Jinja (Prefect's sandboxed environment) is not done here; see the README.
        throw new HydrationError('Invalid jinja: templates are not rendered by this server');
      }
      return template;
    }
    case 'workspace_variable': {
      if (!('variable_name' in placeholder)) return REMOVE;
      const name = isObject(placeholder.variable_name)
        ? hydrateValue(placeholder.variable_name, context)
        : placeholder.variable_name;
      if (name === REMOVE) return name;
      if (context.workspaceVariables.has(String(name))) return context.workspaceVariables.get(String(name));
      throw new HydrationError(`Variable '${String(name)}' not found in workspace.`);
    }
    default:
      // An unknown kind stands for its `value`.
      return placeholder.value ?? null;
  }
}

function hydrateValue(value: unknown, context: HydrationContext): Hydrated {
  if (isObject(value) && '__prefect_kind' in value) return handle(value.__prefect_kind, value, context);
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const hydrated = hydrateValue(item, context);
      if (hydrated !== REMOVE) out[key] = hydrated;
    }
    return out;
  }
  if (Array.isArray(value)) {
    return value.map((item) => hydrateValue(item, context)).filter((item) => item !== REMOVE);
  }
  return value;
}

/** Prefect's `hydrate`: the parameters with every placeholder resolved or removed; throws {@link HydrationError}. */
export function hydrateParameters(
  parameters: Record<string, unknown>,
  context: HydrationContext,
): Record<string, unknown> {
  const hydrated = hydrateValue(parameters, context);
  return hydrated === REMOVE ? {} : (hydrated as Record<string, unknown>);
}

/** Python's `json.JSONDecodeError` text for the common cases, else a generic one. */
function pythonJsonError(text: string, error: Error): string {
  const position = /position (\d+)/.exec(error.message);
  const offset = position ? Number(position[1]) : text.length;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  const at = `line ${line} column ${column} (char ${offset})`;
  if (/[{,]\s*$/.test(before)) return `Expecting property name enclosed in double quotes: ${at}`;
  return `Expecting value: ${at}`;
}
