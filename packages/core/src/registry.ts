/**
 * Plugin resolution: built-in names map to the project's packages; any other
 * name is loaded with import() as an npm package (resolved from the working
 * directory) or a file path.
 * @module
 */
import { createRequire } from 'node:module';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MmsimError } from './errors.js';
import { checkManifest, type PluginManifest } from './plugin.js';

/** Built-in plugins: name → package. */
export const BUILTIN_PLUGINS: Readonly<Record<string, string>> = Object.freeze({
  flatmem: '@mmsim/plugin-flatmem',
  discontigmem: '@mmsim/plugin-discontigmem',
  sparsemem: '@mmsim/plugin-sparsemem',
  buddy: '@mmsim/plugin-buddy',
  slub: '@mmsim/plugin-slub',
  slab: '@mmsim/plugin-slab',
  slob: '@mmsim/plugin-slob',
  lru: '@mmsim/plugin-lru',
  'oom-linux': '@mmsim/plugin-oom-linux',
});

/** The default composition when a config names no plugins. */
export const DEFAULT_PLUGINS = Object.freeze({
  memoryModel: 'flatmem',
  pageAllocator: 'buddy',
  slab: 'slub',
  reclaim: 'lru',
  oom: 'oom-linux',
});

/** Registers another built-in (for plugins added to the monorepo later). */
export function builtinPackage(name: string): string | undefined {
  return BUILTIN_PLUGINS[name];
}

function isNotFound(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || code === 'ERR_UNSUPPORTED_DIR_IMPORT' ||
    /Cannot find (package|module)|Failed to (load|resolve)/.test(String((e as Error)?.message));
}

const cache = new Map<string, PluginManifest>();

async function importSpecifier(spec: string): Promise<unknown> {
  // 1. a path
  if (spec.startsWith('.') || isAbsolute(spec) || spec.startsWith('file:')) {
    const url = spec.startsWith('file:') ? spec : pathToFileURL(resolvePath(process.cwd(), spec)).href;
    return import(url);
  }
  // 2. a package visible from here (built-ins, workspaces, packages installed beside the core)
  try {
    return await import(spec);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    // 3. a package visible from the user's working directory
    const req = createRequire(resolvePath(process.cwd(), '__mmsim__.js'));
    let file: string;
    try {
      file = req.resolve(spec);
    } catch {
      throw e;
    }
    return import(pathToFileURL(file).href);
  }
}

/** Loads a plugin manifest by built-in name, package name or path. */
export async function loadPlugin(nameOrPath: string, path: string): Promise<PluginManifest> {
  const spec = BUILTIN_PLUGINS[nameOrPath] ?? nameOrPath;
  const hit = cache.get(spec);
  if (hit) return hit;
  let mod: unknown;
  try {
    mod = await importSpecifier(spec);
  } catch (e) {
    if (isNotFound(e)) {
      throw new MmsimError('EPLUGIN_UNKNOWN', `${path}: unknown plugin '${nameOrPath}': not built in (${Object.keys(BUILTIN_PLUGINS).join(', ')}) and no package or file of that name could be imported`, { plugin: nameOrPath, path, cause: e });
    }
    throw new MmsimError('EPLUGIN_INVALID', `${path}: plugin '${nameOrPath}' failed to load: ${(e as Error).message}`, { plugin: nameOrPath, path, cause: e });
  }
  const m = (mod as { default?: unknown }).default ?? mod;
  checkManifest(m, `${path} ('${nameOrPath}')`);
  cache.set(spec, m);
  return m;
}
