import { baseJobTemplateError } from './base-job-template';

const MISSING_KEYS = 'The `base_job_template` must contain both a `job_configuration` key and a `variables` key.';
const undeclared = (names: string) =>
  'The variables specified in the job configuration template must be present as properties in the variables schema. ' +
  `Your job configuration uses the following undeclared variable(s): ${names}.`;

const template = (jobConfiguration: unknown, properties: Record<string, unknown> = { command: {} }) => ({
  job_configuration: jobConfiguration,
  variables: { properties, required: [] },
});

describe('baseJobTemplateError', () => {
  it('accepts an empty template and a template whose placeholders are declared', () => {
    expect(baseJobTemplateError({})).toBeNull();
    expect(baseJobTemplateError(template({ command: '{{ command }}', env: { A: '{{command}}' } }))).toBeNull();
  });

  it.each([
    [{ foo: 'bar', x: ['y'] }],
    [{ job_configuration: {}, variables: { properties: {} } }],
    [{ job_configuration: { a: 1 } }],
    [{ job_configuration: ['x'], variables: { properties: {} } }],
    [{ job_configuration: { a: 1 }, variables: 'schema' }],
  ])('requires both sections: %j', (value) => {
    expect(baseJobTemplateError(value)).toBe(MISSING_KEYS);
  });

  it('names undeclared placeholders, nested ones included, in order of first use', () => {
    expect(baseJobTemplateError(template({ command: '{{ other_variable }}' }))).toBe(undeclared('other_variable'));
    expect(baseJobTemplateError(template({ config: { command: '{{ missing_variable }}' } }))).toBe(
      undeclared('missing_variable'),
    );
    expect(baseJobTemplateError(template({ a: '{{ b }} {{ a }}', c: ['{{b}}', '{{ command }}'] }))).toBe(
      undeclared('b ,a'),
    );
  });

  it('reads placeholder names as Prefect does (dots, dashes, brackets, $; keys are not scanned)', () => {
    expect(baseJobTemplateError(template({ x: '{{ prefect.variables.x }}', y: '{{ $HOME }}' }))).toBe(
      undeclared('prefect.variables.x ,$HOME'),
    );
    expect(baseJobTemplateError(template({ '{{ key }}': 'literal', z: '{{ not closed }' }))).toBeNull();
  });

  it('treats a non-object properties schema as declaring nothing', () => {
    expect(
      baseJobTemplateError(template({ c: '{{ command }}' }, ['command'] as unknown as Record<string, unknown>)),
    ).toBe(undeclared('command'));
  });
});
