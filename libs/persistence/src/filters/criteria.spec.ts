import fc from 'fast-check';
import { Criteria, escapeLike, QueryParameters } from './criteria';

/** Reads an escaped LIKE pattern back: the literal text it matches, or null if it holds a live wildcard. */
function literalOf(pattern: string): string | null {
  let text = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      if (i + 1 === pattern.length) return null;
      text += pattern[++i];
    } else if (c === '%' || c === '_') {
      return null;
    } else {
      text += c;
    }
  }
  return text;
}

const likeText = fc.string({ unit: fc.constantFrom('a', 'B', '%', '_', '\\', ' ', "'", 'é') });

describe('escapeLike', () => {
  it('leaves no live wildcard and reads back as the original text', () => {
    fc.assert(fc.property(likeText, (text) => expect(literalOf(escapeLike(text))).toBe(text)));
  });

  it('changes nothing in text without wildcards or backslashes', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !/[\\%_]/.test(s)),
        (text) => expect(escapeLike(text)).toBe(text),
      ),
    );
  });
});

describe('Criteria', () => {
  it('is TRUE without criteria, whatever the operator (Prefect: an empty filter matches everything)', () => {
    const params = new QueryParameters();
    expect(new Criteria(params).sql('and_')).toBe('TRUE');
    expect(new Criteria(params).sql('or_')).toBe('TRUE');
    expect(new Criteria(params).anyOf('t.id', undefined).isNull('t.x', null).sql()).toBe('TRUE');
  });

  it('joins criteria with the operator and parenthesises each', () => {
    const params = new QueryParameters();
    const criteria = () => new Criteria(params).isNull('t.a', true).isNull('t.b', false);
    expect(criteria().sql('and_')).toBe('((t.a IS NULL) AND (t.b IS NOT NULL))');
    expect(criteria().sql('or_')).toBe('((t.a IS NULL) OR (t.b IS NOT NULL))');
  });

  it('binds every value as a parameter: the SQL text does not depend on the values', () => {
    const build = (text: string, list: string[], params = new QueryParameters()) =>
      new Criteria(params)
        .contains('t.name', text)
        .anyOf('t.name', list)
        .noneOf('t.name', list)
        .hasAllTags('t.tags', list)
        .hasAnyTag('t.tags', list)
        .startsWithAny('t.name', list)
        .sql();
    fc.assert(
      fc.property(fc.string(), fc.array(fc.string()), (text, list) => {
        const params = new QueryParameters();
        expect(build(text, list, params)).toBe(
          build(
            'x',
            list.map(() => 'x'),
          ),
        );
        expect(Object.values(params.values)).toContainEqual(`%${escapeLike(text)}%`);
        expect(Object.values(params.values)).toContainEqual(list);
      }),
    );
  });

  it('keeps an empty list as a criterion (FALSE for any_, vacuous TRUE for not_any_ in SQL)', () => {
    const params = new QueryParameters();
    expect(new Criteria(params).anyOf('t.id', []).sql()).toBe('(t.id = ANY(:filter_0))');
    expect(params.values.filter_0).toEqual([]);
    expect(new Criteria(params).startsWithAny('t.name', []).sql()).toBe('(FALSE)');
  });
});
