// The layering of docs/architecture.md, checked against the sources: which
// package may import which, core only through its public index, no import
// cycle in core, core within its size budget, no kernel-wide locator.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Non-test TypeScript sources under a folder. */
function sources(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts')) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Module specifiers a source imports or re-exports (static and dynamic). */
function importsOf(file: string): string[] {
  // comments may show an import as an example: only code counts
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/g)) out.push(m[1]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+'([^']+)'/g)) out.push(m[1]!);
  for (const m of text.matchAll(/import\('([^']+)'\)/g)) out.push(m[1]!);
  return out;
}

interface Pkg { dir: string; name: string; deps: string[] }

/** Every workspace package with the @mmsim packages it may import (its layer's). */
function packages(): Pkg[] {
  const out: Pkg[] = [];
  for (const group of ['packages', 'plugins', 'examples']) {
    for (const n of readdirSync(join(root, group))) {
      const pj = join(root, group, n, 'package.json');
      if (!existsSync(pj)) continue;
      const j = JSON.parse(readFileSync(pj, 'utf8')) as { name: string };
      out.push({ dir: join(group, n), name: j.name, deps: [] });
    }
  }
  return out;
}

const LOWER_TOOLS = ['@mmsim/core', '@mmsim/mm', '@mmsim/process', '@mmsim/slab-common', '@mmsim/workload', '@mmsim/machine', '@mmsim/debug'];
/** What each layer may import (docs/architecture.md). */
function allowed(p: Pkg): string[] | 'any' {
  if (p.name === '@mmsim/core') return [];
  if (p.dir.startsWith('plugins/')) return ['@mmsim/plugin-slab', '@mmsim/plugin-slub', '@mmsim/plugin-slob'].includes(p.name) ? ['@mmsim/core', '@mmsim/slab-common'] : ['@mmsim/core'];
  if (['@mmsim/mm', '@mmsim/process', '@mmsim/slab-common', '@mmsim/workload', '@mmsim/machine', '@mmsim/debug'].includes(p.name)) return ['@mmsim/core'];
  if (p.name === '@mmsim/testkit') return ['@mmsim/core', '@mmsim/defconfig'];
  if (p.name === '@mmsim/defconfig') return [...LOWER_TOOLS, ...packages().filter((x) => x.dir.startsWith('plugins/')).map((x) => x.name)];
  if (p.name === 'mmsim-plugin-bitmap') return ['@mmsim/core'];
  return 'any'; // front-ends
}

const isOurs = (spec: string) => spec.startsWith('@mmsim/') || spec.startsWith('mmsim-');

describe('architecture (docs/architecture.md)', () => {
  const pkgs = packages();

  it('each package imports only the layers below it', () => {
    const bad: string[] = [];
    for (const p of pkgs) {
      const ok = allowed(p);
      for (const f of sources(join(root, p.dir, 'src'))) {
        for (const spec of importsOf(f)) {
          if (!isOurs(spec) || ok === 'any') continue;
          if (!ok.includes(spec)) bad.push(`${relative(root, f)} imports ${spec}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('nothing outside core reaches into a core module (only the public index)', () => {
    const bad: string[] = [];
    for (const p of pkgs.filter((x) => x.name !== '@mmsim/core')) {
      for (const f of sources(join(root, p.dir, 'src'))) {
        for (const spec of importsOf(f)) {
          if (spec.startsWith('@mmsim/core/') || (spec.startsWith('.') && resolve(dirname(f), spec).startsWith(join(root, 'packages/core')))) bad.push(`${relative(root, f)} imports ${spec}`);
          // relative imports stay inside their own package
          if (spec.startsWith('.') && !resolve(dirname(f), spec).startsWith(join(root, p.dir))) bad.push(`${relative(root, f)} reaches out of ${p.dir} with ${spec}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('core has no import cycle', () => {
    const dir = join(root, 'packages/core/src');
    const graph = new Map<string, string[]>();
    for (const f of sources(dir)) {
      graph.set(f, importsOf(f).filter((s) => s.startsWith('.')).map((s) => resolve(dirname(f), s.replace(/\.js$/, '.ts'))));
    }
    const state = new Map<string, 1 | 2>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === 2) return;
      if (state.get(f) === 1) {
        cycles.push([...path.slice(path.indexOf(f)), f].map((x) => relative(dir, x)).join(' → '));
        return;
      }
      state.set(f, 1);
      for (const g of graph.get(f) ?? []) visit(g, [...path, f]);
      state.set(f, 2);
    };
    for (const f of graph.keys()) visit(f, []);
    expect(cycles).toEqual([]);
  });

  // about 3,500 for the microkernel (it was 8,522) plus the process layer's contracts (process.ts):
  // a ceiling just above today's figure keeps it from growing back
  it('core stays small: no more than 4,300 lines of non-test source', () => {
    const lines = sources(join(root, 'packages/core/src')).reduce((n, f) => n + readFileSync(f, 'utf8').split('\n').length - 1, 0);
    expect(lines).toBeLessThanOrEqual(4300);
  });

  it('core depends on no plugin and no service package (it names none to load)', () => {
    const bad: string[] = [];
    const pj = JSON.parse(readFileSync(join(root, 'packages/core/package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const dep of Object.keys(pj[field] ?? {})) if (isOurs(dep)) bad.push(`package.json ${field}: ${dep}`);
    }
    for (const f of sources(join(root, 'packages/core/src'))) {
      // a table of plugin packages to import (what registry.ts once held) is the distribution's business
      for (const m of readFileSync(f, 'utf8').matchAll(/['"](@mmsim\/plugin-[\w-]+)['"]\s*[,}]/g)) bad.push(`${relative(root, f)} lists ${m[1]}`);
      for (const spec of importsOf(f)) if (isOurs(spec)) bad.push(`${relative(root, f)} imports ${spec}`);
    }
    expect(bad).toEqual([]);
  });

  it('no constructor injects a kernel-wide locator', () => {
    const bad: string[] = [];
    for (const p of pkgs) {
      for (const f of sources(join(root, p.dir, 'src'))) {
        const text = readFileSync(f, 'utf8');
        if (/@inject\(KERNEL\)|\bKERNEL\b\s*=\s*token|@inject\([^)]*DependencyContainer/.test(text)) bad.push(relative(root, f));
        if (/constructor\([^)]*container\s*:\s*DependencyContainer/.test(text)) bad.push(`${relative(root, f)} (a container as a constructor parameter)`);
      }
    }
    expect(bad).toEqual([]);
  });
});
