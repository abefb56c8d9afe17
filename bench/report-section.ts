import { readFileSync, writeFileSync } from 'node:fs';

/**
 * A section of docs/benchmarks.md that one benchmark owns, between `<!-- name:start -->` and `<!-- name:end -->`,
 * so that each benchmark rewrites its own part and keeps the others'.
 */
export const sectionMarkers = (name: string) => ({ start: `<!-- ${name}:start -->`, end: `<!-- ${name}:end -->` });

function readReport(reportPath: string): string {
  try {
    return readFileSync(reportPath, 'utf8');
  } catch {
    return '';
  }
}

/** The section as it stands (markers included), or null when the report has none. */
export function readSection(name: string, reportPath: string): string | null {
  const { start, end } = sectionMarkers(name);
  const report = readReport(reportPath);
  const from = report.indexOf(start);
  const to = report.indexOf(end);
  return from >= 0 && to > from ? report.slice(from, to + end.length) : null;
}

/** Replaces the section (markers included in `section`), or appends it the first time. */
export function writeSection(name: string, section: string, reportPath: string): void {
  const { start, end } = sectionMarkers(name);
  const report = readReport(reportPath);
  const from = report.indexOf(start);
  const to = report.indexOf(end);
  const updated =
    from >= 0 && to > from
      ? report.slice(0, from) + section + report.slice(to + end.length)
      : `${report.trimEnd()}\n\n${section}\n`;
  writeFileSync(reportPath, updated);
}

/** A Markdown table. */
export function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}
