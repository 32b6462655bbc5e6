// One vitest config for the monorepo. Workspace packages resolve to their
// TypeScript sources, so tests need no build and there is one copy of
// @mmsim/core (its tokens) in every test.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const alias: { find: string; replacement: string }[] = [];
for (const group of ['packages', 'plugins', 'examples']) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const pkg = join(dir, name, 'package.json');
    const src = join(dir, name, 'src', 'index.ts');
    if (!existsSync(pkg) || !existsSync(src)) continue;
    alias.push({ find: JSON.parse(readFileSync(pkg, 'utf8')).name, replacement: src });
  }
}
// exact-name matches only (no prefix matching of '@mmsim/core/...')
const aliases = alias.map((a) => ({ find: new RegExp(`^${a.find.replace(/[/.]/g, '\\$&')}$`), replacement: a.replacement }));

export default defineConfig({
  root,
  resolve: { alias: aliases },
  // legacy (experimentalDecorators) parameter decorators everywhere, tests included,
  // and no decorator metadata: every constructor parameter carries @inject
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: false } },
  test: {
    include: ['{packages,plugins,examples}/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // MMSIM_NIGHTLY=1 (npm run test:nightly) runs budgets of many minutes per test
    testTimeout: process.env.MMSIM_NIGHTLY === '1' ? 3_600_000 : 60_000,
  },
});
