import { PydanticErrorDetail } from './validation';

/**
 * How deeply a request body may nest. Prefect's server parses bodies with Python's `json.loads`, which gives up
 * near the interpreter's recursion limit (1000) and FastAPI then answers 400.
 */
export const MAX_JSON_DEPTH = 1000;

/** FastAPI's answer to a body its JSON parser could not take (Prefect's for JSON nested too deeply). */
export const BODY_PARSE_ERROR = 'There was an error parsing the body';

const NUL_MESSAGE = 'Value error, String must not contain the NUL character (\\u0000)';
const UNICODE_MESSAGE = 'Input should be a valid string, unable to parse raw data as a unicode string';
// A UTF-16 code unit of a surrogate pair without its other half: JSON may spell one (`"\ud800"`), UTF-8 cannot.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether a parsed JSON value nests deeper than {@link MAX_JSON_DEPTH} (iterative: any depth is safe to ask). */
export function isTooDeep(value: unknown): boolean {
  // Two stacks rather than one of pairs: this runs on every request body, and allocated a pair per value.
  const nodes: unknown[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop();
    const depth = depths.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > MAX_JSON_DEPTH) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') {
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/**
 * The strings of a JSON value that no column can hold, reported as pydantic reports a bad string: Postgres refuses
 * the NUL character in text and JSON, and a lone surrogate has no UTF-8 form (pydantic's `string_unicode`). Keys
 * count as strings. Call only on values {@link isTooDeep} accepted.
 */
export function unstorableStrings(value: unknown, loc: (string | number)[] = ['body']): PydanticErrorDetail[] {
  const errors: PydanticErrorDetail[] = [];
  // One path, grown and shrunk as the walk goes, copied only into an error: this runs on every request body, and
  // copied the path for every value.
  const path = [...loc];
  const check = (text: string) => {
    if (text.includes('\u0000')) errors.push({ type: 'value_error', loc: [...path], msg: NUL_MESSAGE, input: text });
    else if (LONE_SURROGATE.test(text)) {
      errors.push({ type: 'string_unicode', loc: [...path], msg: UNICODE_MESSAGE, input: text });
    }
  };
  const visit = (node: unknown): void => {
    if (typeof node === 'string') check(node);
    else if (Array.isArray(node)) {
      for (let index = 0; index < node.length; index++) {
        path.push(index);
        visit(node[index]);
        path.pop();
      }
    } else if (node !== null && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        path.push(key);
        check(key);
        visit(record[key]);
        path.pop();
      }
    }
  };
  visit(value);
  return errors;
}
