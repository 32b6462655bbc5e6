// Writes packages/core/docs/errors.md from ERROR_CODES (run after `tsc -b`: `npm run docs:errors`).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '../../packages/core/dist/errors.js';
import { renderErrorsDoc } from '../../packages/testkit/dist/errors-doc.js';

const out = fileURLToPath(new URL('../../packages/core/docs/errors.md', import.meta.url));
writeFileSync(out, renderErrorsDoc(ERROR_CODES));
console.log(`wrote ${out} (${Object.keys(ERROR_CODES).length} codes)`);
