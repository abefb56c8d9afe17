import { pythonRepr } from './python-repr';

describe('pythonRepr', () => {
  it('quotes as Python does', () => {
    expect(pythonRepr('pool')).toBe("'pool'");
    expect(pythonRepr("it's")).toBe('"it\'s"');
    expect(pythonRepr(`a'b"c`)).toBe(`'a\\'b"c'`);
    expect(pythonRepr('a\\b\n')).toBe("'a\\\\b\\n'");
  });
});
