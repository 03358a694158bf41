/**
 * Which exports of each core module the jco glue reads. componentize-py links CPython as shared libraries, and a
 * shared library exports every symbol it defines (libpython: 1,857 exports, libc: 1,181, the main module: 905), of
 * which the glue wires up about a quarter. V8 builds a JavaScript object for every export on every instantiation
 * (a function wrapper, a WebAssembly.Global), so the unread ones cost ~2.8 ms of each fresh Python instance's ~10 ms
 * (docs/benchmarks.md, "Fresh sandbox and memory"). The build drops them (build-process.ts).
 *
 * Read from the glue's text, so the answer errs on the side of keeping: a module whose exports object the glue uses
 * in any way other than `exportsN.name` or `exportsN['name']` (passed along whole, destructured, indexed by a
 * variable) keeps every export, as does a module the glue names in a way this does not recognise.
 */

/** Per core module file: the export names the glue reads, or null when all of them must stay. */
export type GlueExportUse = Map<string, Set<string> | null>;

export function exportsReadByGlue(glue: string, coreModules: readonly string[]): GlueExportUse {
  // const module3 = getCoreModule('runner.core4.wasm');
  const fileOfModuleVar = new Map<string, string>();
  for (const [, variable, file] of glue.matchAll(/\bconst (module\d+) = getCoreModule\('([^'\\]+)'\)/g)) fileOfModuleVar.set(variable!, file!);
  // ({ exports: exports4 } = yield instantiateCore(yield module3, ...
  const fileOfExportsVar = new Map<string, string>();
  const instantiations = /\(\{ exports: (exports\d+) \} = yield instantiateCore\(yield (module\d+)\b/g;
  for (const [, exportsVar, moduleVar] of glue.matchAll(instantiations)) {
    const file = fileOfModuleVar.get(moduleVar!);
    if (file !== undefined) fileOfExportsVar.set(exportsVar!, file);
  }

  const use: GlueExportUse = new Map(coreModules.map((file) => [file, null]));
  for (const [exportsVar, file] of fileOfExportsVar) {
    if (!use.has(file)) continue;
    // Instantiated twice, or under two names: keep everything rather than guess.
    if ([...fileOfExportsVar.values()].filter((f) => f === file).length !== 1) continue;
    const names = new Set<string>();
    let understood = true;
    for (const match of glue.matchAll(new RegExp(`\\b${exportsVar}\\b`, 'g'))) {
      const at = match.index!;
      const after = glue.slice(at + exportsVar.length, at + exportsVar.length + 256);
      const before = glue.slice(Math.max(0, at - 16), at);
      const member = /^\.([A-Za-z_$][\w$]*)/.exec(after) ?? /^\['([^'\\]*)'\]/.exec(after);
      if (member) names.add(member[1]!);
      else if (before.endsWith('let ') && after.startsWith(';')) continue; // its declaration
      else if (before.endsWith('{ exports: ') && after.startsWith(' }')) continue; // its assignment
      else understood = false;
    }
    if (understood) use.set(file, names);
  }
  return use;
}
