/**
 * Renders the error catalogue page (packages/core/docs/errors.md) from
 * ERROR_CODES, so the docs cannot drift from the code: `npm run
 * docs:errors` writes it, and a test fails when the page is stale.
 * (No test-runner imports here: plain scripts load this module.)
 * @module
 */

/** The markdown of the error catalogue for `codes` (code → cause and remedy). */
export function renderErrorsDoc(codes: Readonly<Record<string, string>>): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rows = Object.entries(codes).map(([code, text]) => `| \`${code}\` | ${cell(text)} |`);
  return [
    '---',
    'title: Error codes',
    '---',
    '',
    '# Error codes',
    '',
    '<!-- Generated from ERROR_CODES (packages/core/src/errors.ts) by `npm run docs:errors`. Do not edit by hand: edit ERROR_CODES and run it again. -->',
    '',
    'Every error mmsim throws is an `MmsimError` with a stable `code`, a message naming the cause (field path, plugin, pfn, cache), and `plugin` / `path` / `details` where they apply. A failed call leaves the simulator as it was.',
    '',
    'Every code below has a test that triggers it and checks the simulator is unchanged afterwards (test/errors.test.ts), and a test fails when the code base throws a code this page lacks.',
    '',
    '| code | cause and remedy |',
    '| --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
