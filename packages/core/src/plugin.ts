/**
 * Plugin manifests and their validation.
 *
 * A plugin is a package whose default export is `definePlugin({...})`. It
 * provides exactly one extension point. `register(container, options)` binds
 * the implementation in the simulator's own child container, container
 * scoped; it runs once per simulator, in the order memoryModel,
 * pageAllocator, slab, reclaim, oom, then any extra plugins (in sequence).
 * @module
 */
import type { DependencyContainer } from 'tsyringe';
import { MmsimError } from './errors.js';
import { EXTENSION_POINTS, extensionPointName, type Token } from './tokens.js';

/** The plugin API version this core implements. */
export const API_VERSION = '1';

/** The Standard Schema interface (zod, valibot, arktype implement it): how plugin options are validated. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}
/** Result of a Standard Schema validation. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined }> };

/** What a plugin package exports. */
export interface PluginManifest<T = unknown, O = unknown> {
  /** Required; every error about the plugin carries it. */
  readonly name: string;
  /**
   * The extension point token it provides (MEMORY_MODEL, PAGE_ALLOCATOR, ...),
   * a contribution token, or — for a service package — the list of service
   * tokens it registers.
   */
  readonly provides: Token<T> | readonly symbol[];
  /** Plugin API version it was written for; must equal {@link API_VERSION}. */
  readonly apiVersion: string;
  /** One line on what it is. */
  readonly description?: string;
  /** Options schema (any Standard Schema library). Omitted: the plugin takes no options. */
  readonly options?: StandardSchemaV1<unknown, O>;
  /**
   * Classes whose instances a snapshot may hold but a freshly booted
   * simulator may not have met yet (objects created on demand): restore
   * creates them from these prototypes. Classes met in the booted state
   * need not be listed.
   */
  readonly snapshotClasses?: readonly (abstract new (...args: never[]) => unknown)[];
  /** Binds the implementation of `provides` in the simulator's container (use Lifecycle.ContainerScoped). */
  register(container: DependencyContainer, options: O): void;
}

const MANIFEST = Symbol.for('mmsim:PluginManifest');

/** Declares a plugin. Checks the manifest's shape at once, so a broken plugin fails where it is written. */
export function definePlugin<T, O = Record<string, never>>(manifest: PluginManifest<T, O>): PluginManifest<T, O> {
  checkManifest(manifest, manifest?.name ?? '<unnamed>');
  return Object.freeze({ ...manifest, [MANIFEST]: true }) as PluginManifest<T, O>;
}

/** Throws EPLUGIN_INVALID unless `m` looks like a manifest. */
export function checkManifest(m: unknown, source: string): asserts m is PluginManifest {
  const x = m as Partial<PluginManifest> | undefined;
  const bad = (why: string): never => {
    throw new MmsimError('EPLUGIN_INVALID', `${source}: not a plugin manifest: ${why}`, { plugin: typeof x?.name === 'string' ? x.name : source });
  };
  if (!x || typeof x !== 'object') bad('expected an object (export default definePlugin({...}))');
  if (typeof x!.name !== 'string' || x!.name.length === 0) bad('`name` is required');
  const p = x!.provides as unknown;
  if (typeof p !== 'symbol' && !(Array.isArray(p) && p.length > 0 && p.every((t) => typeof t === 'symbol'))) bad('`provides` must be an extension point token such as MEMORY_MODEL (or a list of service tokens)');
  if (typeof x!.apiVersion !== 'string') bad('`apiVersion` is required');
  if (typeof x!.register !== 'function') bad('`register(container, options)` is required');
  if (x!.options !== undefined && typeof (x!.options as StandardSchemaV1)['~standard']?.validate !== 'function') bad('`options` must be a Standard Schema (e.g. a zod schema)');
}

/** Checks the api version and that the plugin provides the point it was configured for. */
export function checkCompatible(m: PluginManifest, slot: keyof typeof EXTENSION_POINTS | 'extra' | 'service', path: string): void {
  if (m.apiVersion !== API_VERSION) {
    throw new MmsimError('EPLUGIN_API', `${path}: plugin '${m.name}' was written for plugin API ${m.apiVersion}, this core implements ${API_VERSION}`, { plugin: m.name, path });
  }
  if (slot !== 'extra' && slot !== 'service') {
    const want = EXTENSION_POINTS[slot];
    if (m.provides !== want) {
      throw new MmsimError('EPLUGIN_KIND', `${path}: plugin '${m.name}' provides ${providedNames(m)}, but ${path.split('.').slice(0, 2).join('.')} needs a ${extensionPointName(want)}`, { plugin: m.name, path });
    }
  }
}

/** Validates options with the plugin's schema; EPLUGIN_OPTIONS names the plugin and the field. */
export async function validateOptions(m: PluginManifest, options: unknown, path: string): Promise<unknown> {
  if (!m.options) {
    if (options !== undefined && !(typeof options === 'object' && options !== null && Object.keys(options).length === 0)) {
      throw new MmsimError('EPLUGIN_OPTIONS', `${path}: plugin '${m.name}' takes no options`, { plugin: m.name, path });
    }
    return {};
  }
  const r = await m.options['~standard'].validate(options ?? {});
  if (r.issues) {
    const first = r.issues[0]!;
    const field = (first.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p)).join('.');
    const where = field ? `${path}.${field}` : path;
    throw new MmsimError('EPLUGIN_OPTIONS', `${where}: ${first.message} (plugin '${m.name}')`, { plugin: m.name, path: where, details: { issues: r.issues.map((i) => i.message) } });
  }
  return r.value;
}

/** The tokens a manifest provides, as a list. */
export function providedTokens(m: PluginManifest): readonly symbol[] {
  return typeof m.provides === 'symbol' ? [m.provides] : m.provides;
}

function providedNames(m: PluginManifest): string {
  return providedTokens(m).map(extensionPointName).join(', ');
}
