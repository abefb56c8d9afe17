/** Prefect's parsed log text search (`prefect.server.utilities.text_search_parser.TextSearchQuery`). */
export interface TextSearchQuery {
  /** Any of these must appear (OR). */
  include: string[];
  /** None of these may appear (`-term`, `!term`). */
  exclude: string[];
  /** All of these must appear (`+term`). */
  required: string[];
}

/** Undoes `\"` and `\\` inside a quoted phrase; any other backslash stays. */
function unescapePhrase(phrase: string): string {
  return phrase.replace(/\\(["\\])/g, '$1');
}

/**
 * Prefect's text search syntax: space-separated terms are alternatives, `-`/`!` excludes a term, `+` requires it,
 * double quotes make a phrase (with `\"` escapes). A prefix followed by a space is ignored. Matching is done by
 * the caller, case-insensitively, as substrings.
 */
export function parseTextSearchQuery(query: string): TextSearchQuery {
  const result: TextSearchQuery = { include: [], exclude: [], required: [] };
  const add = (prefix: string | null, term: string) => {
    if (prefix === '-' || prefix === '!') result.exclude.push(term);
    else if (prefix === '+') result.required.push(term);
    else result.include.push(term);
  };
  const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);
  let i = 0;
  while (i < query.length) {
    if (isSpace(query[i])) {
      i += 1;
      continue;
    }
    let prefix: string | null = null;
    if ('-!+'.includes(query[i])) {
      if (i + 1 < query.length && !isSpace(query[i + 1])) {
        prefix = query[i];
        i += 1;
      } else {
        i += 1;
        continue;
      }
    }
    if (query[i] === '"') {
      i += 1;
      const start = i;
      while (i < query.length && query[i] !== '"') i += query[i] === '\\' && i + 1 < query.length ? 2 : 1;
      const phrase = unescapePhrase(query.slice(start, i));
      if (i < query.length) i += 1;
      if (phrase.trim()) add(prefix, phrase);
      continue;
    }
    const start = i;
    while (i < query.length && !isSpace(query[i]) && query[i] !== '"') i += 1;
    const term = query.slice(start, i);
    if (term) add(prefix, term);
  }
  return result;
}
