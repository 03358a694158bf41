/**
 * Checked text rewrites of a package's files as esbuild bundles them into a thread script (host-script.ts's
 * inlined packages): each names text the file must contain, so a package version without it fails the bundle,
 * loudly, instead of running half-patched. preview2-shim is rewritten this way for the sandbox threads
 * (lazy-shim-worker.ts) and for the pool's shared I/O service (io/service-bundle.ts).
 */
import type * as esbuild from 'esbuild';

/** Every occurrence of `from` (which must occur) becomes `to`. */
export type Rewrite = [from: string, to: string];

export interface FileRewrite {
  /** The files (esbuild's onLoad filter on their paths). */
  filter: RegExp;
  rewrites: Rewrite[];
  /** Text put before and after the rewritten file (imports it now needs, exports it now forwards). */
  prelude?: string;
  epilogue?: string;
}

/** Registers `files`' rewrites with the build; `owner` (a source file) is named in the error when one no longer applies. */
export function rewriteFiles(build: esbuild.PluginBuild, packageName: string, owner: string, files: FileRewrite[]): void {
  for (const { filter, rewrites, prelude = '', epilogue = '' } of files) {
    build.onLoad({ filter }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      let source = await readFile(args.path, 'utf8');
      for (const [from, to] of rewrites) {
        if (!source.includes(from)) throw new Error(`${args.path}: ${packageName} no longer contains "${from}"; update ${owner}`);
        source = source.split(from).join(to);
      }
      return { contents: `${prelude}${source}${epilogue}`, loader: 'js' as const };
    });
  }
}
