import { parseTextSearchQuery } from './text-search';

describe("Prefect's log text search syntax", () => {
  it.each([
    ['error', { include: ['error'], exclude: [], required: [] }],
    ['error -debug', { include: ['error'], exclude: ['debug'], required: [] }],
    ['"connection timeout"', { include: ['connection timeout'], exclude: [], required: [] }],
    ['+required -excluded', { include: [], exclude: ['excluded'], required: ['required'] }],
    ['!noisy "say \\"hi\\"" - lone', { include: ['say "hi"', 'lone'], exclude: ['noisy'], required: [] }],
    ['   ', { include: [], exclude: [], required: [] }],
    ['-"two words"', { include: [], exclude: ['two words'], required: [] }],
    ['"unclosed phrase', { include: ['unclosed phrase'], exclude: [], required: [] }],
  ])('parses %j', (query, parsed) => {
    expect(parseTextSearchQuery(query)).toEqual(parsed);
  });
});
