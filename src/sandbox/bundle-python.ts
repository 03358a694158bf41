/**
 * Python's counterpart of esbuild bundling: the task file plus the local modules it imports, as one JSON document
 * the Python runner loads them from (`{"entry", "files"}`, paths relative to the task file's directory). Which
 * local files a task needs is found by scanning import statements: a line-level scan rather than a parser, because
 * the host runs no Python; it may take a file too many (harmless) and a module it misses fails inside the guest
 * as a clear "not available" error. Modules outside the task's directory are never taken: every file is read with
 * readConfined (its real path inside the task's directory, a regular file, checked on the opened handle), so a
 * link or a FIFO planted in the directory reads nothing of the host and blocks nothing.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { MAX_SOURCE_BYTES, readConfined } from './confined-read.js';
import { ConfinedReadError, PythonBundleError } from './errors.js';

export interface PythonSource {
  entry: string;
  files: Record<string, string>;
}

/** A Python task is at most this many files, of MAX_SOURCE_BYTES together (as one JavaScript source may be). */
const MAX_FILES = 200;
const MAX_BYTES = MAX_SOURCE_BYTES;

const IMPORT = /^[ \t]*import[ \t]+([\w. \t,]+)/gm;
// Names run across lines only inside parentheses: `from a import (x,\n y)`; otherwise the line ends them.
const FROM_IMPORT = /^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(?:\(([\w \t,\r\n]+)|([\w \t,]+))/gm;


export function collectPythonSource(absoluteEntry: string): PythonSource {
  const root = path.dirname(absoluteEntry);
  const zone = realpathSync(root);
  const files: Record<string, string> = {};
  let bytes = 0;
  const pending = [absoluteEntry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    const key = path.relative(root, file).split(path.sep).join('/');
    if (key in files) continue;
    let text: string;
    try {
      text = readConfined(file, [zone], key);
    } catch (error) {
      if (error instanceof ConfinedReadError) throw new PythonBundleError(`cannot read the task's files: ${error.message}`, error);
      throw error;
    }
    bytes += Buffer.byteLength(text);
    if (Object.keys(files).length >= MAX_FILES || bytes > MAX_BYTES) {
      throw new PythonBundleError(`the task and the local modules it imports exceed ${MAX_FILES} files or ${MAX_BYTES / (1024 * 1024)} MiB`);
    }
    files[key] = text;
    pending.push(...localImports(root, file, text));
  }
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)));
  return { entry: path.basename(absoluteEntry), files: sorted };
}

/** Files under `root` that the import statements of `file` may load. */
function localImports(root: string, file: string, text: string): string[] {
  const found: string[] = [];
  const packageDir = path.dirname(file);
  for (const match of text.matchAll(IMPORT)) {
    for (const clause of match[1]!.split(',')) {
      const dotted = clause.trim().split(/\s+/)[0];
      if (dotted) found.push(...moduleFiles(root, root, dotted.split('.')));
    }
  }
  for (const match of text.matchAll(FROM_IMPORT)) {
    const level = match[1]!.length;
    let base = root;
    if (level > 0) {
      base = packageDir;
      for (let i = 1; i < level; i++) base = path.dirname(base);
      if (!isInside(root, base)) continue;
    }
    const parts = match[2] ? match[2].split('.') : [];
    found.push(...moduleFiles(root, base, parts));
    // `from pkg import name`: the name may be a submodule.
    for (const name of (match[3] ?? match[4] ?? '').split(',').map((n) => n.trim().split(/\s+/)[0]).filter((n): n is string => !!n && n !== '*')) {
      found.push(...moduleFiles(root, base, [...parts, name]));
    }
  }
  return found;
}

/** The files a dotted module path resolves to under `base`: each package's __init__.py and the module itself. */
function moduleFiles(root: string, base: string, parts: string[]): string[] {
  const files: string[] = [];
  let dir = base;
  for (const part of parts) {
    const asModule = path.join(dir, `${part}.py`);
    const asPackage = path.join(dir, part, '__init__.py');
    if (isFile(asPackage)) {
      files.push(asPackage);
      dir = path.join(dir, part);
    } else if (isFile(asModule)) {
      files.push(asModule);
      break;
    } else {
      break;
    }
  }
  return files.filter((f) => isInside(root, f));
}

function isFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile();
}

/** Inside `root` once links are resolved: a link in the task's directory must not pull in a host file. */
function isInside(root: string, target: string): boolean {
  const relative = path.relative(realpathSync(root), existsSync(target) ? realpathSync(target) : target);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
