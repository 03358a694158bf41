/**
 * The esbuild plugin that keeps bundling from reading the host for the guest. Task files are bundled on the host
 * before anything is sandboxed, so whatever the bundler reads ends up inside the task: it may read only what the
 * task owns.
 *
 * - The task file's directory tree. Relative imports stay in it (no `..` above it, no link out of it).
 * - Its declared npm dependencies: a bare import must be listed in the nearest package.json of the importing file
 *   (the task's own project, or the depending package), resolve under node_modules as Node would, and every file of
 *   the package must really lie inside that package's directory.
 * - Code and JSON only (.js .mjs .cjs .ts .mts .cts .jsx .tsx .json): no text, binary or `with { type: ... }` loaders
 *   (a JSON import may say `with { type: "json" }`); no absolute paths, no URLs.
 * - Every file is read by readConfined: its real path inside its zone, a regular file, checked on the opened handle.
 *
 * A refused import is an esbuild error naming the import and the file that imports it (BundleError -> invalid_task).
 */
import path from 'node:path';
import type * as esbuild from 'esbuild';
import { isInside, readConfined, realPathOf } from './confined-read.js';
import { ConfinedReadError } from './errors.js';

const NAMESPACE = 'file';
const RESOLVING = Symbol('resolving');
const LOADERS: Record<string, esbuild.Loader> = {
  '.js': 'js', '.mjs': 'js', '.cjs': 'js', '.jsx': 'jsx',
  '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx',
  '.json': 'json',
};

interface Zone {
  /** Real path of the directory every file of the zone must lie in. */
  dir: string;
  /** The package.json whose dependencies the zone's bare imports may use (undefined: none may be). */
  manifest: string | undefined;
}

/**
 * `isExternal(specifier)`: the sandbox's own modules and Node built-ins, which stay imports in the bundle. `read`, if
 * given, collects every file the build read (code, JSON and package.json files): what a cached bundle depends on.
 */
export function confineToTask(entryFile: string, isExternal: (specifier: string) => boolean, read?: Set<string>): esbuild.Plugin {
  return {
    name: 'capsule-confine-to-task',
    setup(build) {
      const manifests: Manifests = new Map();
      if (read) build.onEnd(() => { for (const manifest of manifests.keys()) read.add(manifest); });
      const entry = realPathOf(path.resolve(entryFile)) ?? path.resolve(entryFile);
      const root: Zone = { dir: path.dirname(entry), manifest: nearestManifest(path.dirname(entry)) };
      const zones = new Map<string, Zone>([[root.dir, root]]);
      // The zone a file belongs to: the deepest one containing it (a package inside the task's tree is its own).
      const zoneOf = (file: string) => [...zones.values()].filter((z) => isInside(z.dir, file)).sort((a, b) => b.dir.length - a.dir.length)[0];

      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === RESOLVING) return undefined;
        if (args.kind === 'entry-point') return { path: entry, namespace: NAMESPACE };
        const spec = args.path;
        const refuse = (why: string) => ({ errors: [{ text: `import "${spec}" is refused: ${why}` }] });
        if (isExternal(spec)) return { path: spec, external: true };
        const attributes = Object.entries(args.with ?? {});
        if (attributes.length > 0 && !(attributes.length === 1 && attributes[0]![0] === 'type' && attributes[0]![1] === 'json')) {
          return refuse(`import attributes (${attributes.map(([k, v]) => `${k}: "${v}"`).join(', ')}) are not supported; task bundles hold code and JSON only`);
        }
        if (path.isAbsolute(spec) || /^[A-Za-z]:[\\/]/.test(spec)) return refuse('absolute paths are not allowed; import files of the task\'s directory by relative path');
        if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(spec)) return refuse('URL imports are not allowed');
        const importerZone = zoneOf(args.importer);
        if (!importerZone) return refuse('the importing file is outside the task');
        const bare = !spec.startsWith('.');
        const name = bare ? packageName(spec) : undefined;
        if (name !== undefined && !declaredDependencies(manifests, importerZone.manifest).has(name)) {
          const where = importerZone.manifest ? path.relative(root.dir, importerZone.manifest) || 'package.json' : 'no package.json was found';
          return refuse(`"${name}" is not a declared dependency (dependencies of ${where})`);
        }
        const resolved = await build.resolve(spec, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: RESOLVING, with: args.with });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        if (resolved.external) return { path: spec, external: true };
        const real = realPathOf(resolved.path);
        if (real === undefined) return refuse('it resolves to nothing on disk');
        let zone = importerZone;
        if (name !== undefined) {
          const dir = packageDirectory(manifests, real, name);
          if (dir === undefined) return refuse(`it does not resolve to a file inside the "${name}" package's directory`);
          zone = zones.get(dir) ?? { dir, manifest: path.join(dir, 'package.json') };
          zones.set(dir, zone);
        }
        if (!isInside(zone.dir, real)) {
          return refuse(bare ? 'it resolves outside its package\'s directory' : 'it leaves the task\'s directory (by "..", or a symbolic link pointing out)');
        }
        if (!(path.extname(real) in LOADERS)) return refuse(`"${path.extname(real) || 'no extension'}" files are not bundled; only code (.js, .ts, .jsx, .tsx, ...) and .json`);
        return { path: real, namespace: NAMESPACE };
      });

      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => {
        const zone = zoneOf(args.path);
        try {
          if (!zone) throw new ConfinedReadError(`${args.path} is outside the task`);
          read?.add(args.path);
          return { contents: readConfined(args.path, [zone.dir], path.relative(root.dir, args.path)), loader: LOADERS[path.extname(args.path)] ?? 'js', resolveDir: path.dirname(args.path) };
        } catch (error) {
          if (error instanceof ConfinedReadError) return { errors: [{ text: error.message }] };
          throw error;
        }
      });
    },
  };
}

/** "lodash/fp" -> "lodash", "@scope/pkg/sub" -> "@scope/pkg". */
function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The nearest package.json at or above `dir`. */
function nearestManifest(dir: string): string | undefined {
  for (let current = dir; ; current = path.dirname(current)) {
    const candidate = path.join(current, 'package.json');
    if (realPathOf(candidate) !== undefined) return candidate;
    if (path.dirname(current) === current) return undefined;
  }
}

/** package.json files read during one build: name and declared dependencies. */
type Manifests = Map<string, { name?: string; deps: Set<string> }>;

function readManifest(manifests: Manifests, file: string): { name?: string; deps: Set<string> } {
  let known = manifests.get(file);
  if (!known) {
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(readConfined(file, [path.dirname(realPathOf(file) ?? file)])) as Record<string, unknown>;
    } catch {
      // Unreadable or not JSON: it declares nothing.
    }
    const deps = new Set<string>();
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      const listed = parsed[field];
      if (typeof listed === 'object' && listed !== null) for (const dep of Object.keys(listed)) deps.add(dep);
    }
    known = { ...(typeof parsed.name === 'string' ? { name: parsed.name } : {}), deps };
    manifests.set(file, known);
  }
  return known;
}

/** What a zone's bare imports may name: its manifest's dependencies, and the package itself (self-reference). */
function declaredDependencies(manifests: Manifests, manifest: string | undefined): Set<string> {
  if (manifest === undefined) return new Set();
  const { name, deps } = readManifest(manifests, manifest);
  return name === undefined ? deps : new Set([...deps, name]);
}

/**
 * The real directory of package `name` that contains `file`: the nearest directory above it with a package.json
 * naming the package (or installed as node_modules/<name>, for aliases). Undefined when the file is in none.
 */
function packageDirectory(manifests: Manifests, file: string, name: string): string | undefined {
  for (let dir = path.dirname(file); path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    const installedAs = dir.endsWith(`${path.sep}node_modules${path.sep}${name.split('/').join(path.sep)}`);
    if (installedAs || (realPathOf(manifest) !== undefined && readManifest(manifests, manifest).name === name)) return dir;
  }
  return undefined;
}
