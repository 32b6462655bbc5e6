/**
 * Plugin resolution. Core names no plugin: a name resolves through the
 * distribution's own table (short names such as 'buddy' → a loader the
 * distribution package supplies, see {@link Distribution}), else it is
 * loaded with import() as an npm package (resolved from here, then from the
 * working directory) or a file path.
 * @module
 */
import { createRequire } from 'node:module';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MmsimError } from './errors.js';
import { checkManifest, type PluginManifest } from './plugin.js';

/** Loads a module by short name: `() => import('@mmsim/plugin-buddy')`. */
export type PluginLoader = () => Promise<unknown>;

function isNotFound(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || code === 'ERR_UNSUPPORTED_DIR_IMPORT' ||
    /Cannot find (package|module)|Failed to (load|resolve)/.test(String((e as Error)?.message));
}

const cache = new Map<string, PluginManifest | readonly PluginManifest[]>();

async function importSpecifier(spec: string): Promise<unknown> {
  // 1. a path
  if (spec.startsWith('.') || isAbsolute(spec) || spec.startsWith('file:')) {
    const url = spec.startsWith('file:') ? spec : pathToFileURL(resolvePath(process.cwd(), spec)).href;
    return import(url);
  }
  // 2. a package visible from here (workspaces, packages installed beside the core)
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

/**
 * Loads a plugin manifest — or, for a service package, its list of
 * manifests — by short name (from `known`), package name or path.
 */
export async function loadPlugin(nameOrPath: string, path: string, known: Readonly<Record<string, PluginLoader>> = {}): Promise<PluginManifest | readonly PluginManifest[]> {
  const loader = Object.hasOwn(known, nameOrPath) ? known[nameOrPath] : undefined;
  const key = loader ? `known:${nameOrPath}` : nameOrPath;
  const hit = cache.get(key);
  if (hit) return hit;
  let mod: unknown;
  try {
    mod = await (loader ? loader() : importSpecifier(nameOrPath));
  } catch (e) {
    if (isNotFound(e)) {
      const names = Object.keys(known);
      throw new MmsimError('EPLUGIN_UNKNOWN', `${path}: unknown plugin '${nameOrPath}': ${names.length ? `not one of this distribution's (${names.join(', ')})` : 'core alone knows no short names'} and no package or file of that name could be imported`, { plugin: nameOrPath, path, cause: e });
    }
    throw new MmsimError('EPLUGIN_INVALID', `${path}: plugin '${nameOrPath}' failed to load: ${(e as Error).message}`, { plugin: nameOrPath, path, cause: e });
  }
  const m = (mod as { default?: unknown }).default ?? mod;
  if (Array.isArray(m)) {
    if (m.length === 0) checkManifest(undefined, `${path} ('${nameOrPath}')`);
    m.forEach((x, i) => checkManifest(x, `${path} ('${nameOrPath}')[${i}]`));
    const list = Object.freeze([...m] as PluginManifest[]);
    cache.set(key, list);
    return list;
  }
  checkManifest(m, `${path} ('${nameOrPath}')`);
  cache.set(key, m);
  return m;
}
