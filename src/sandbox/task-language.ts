/** A task's language follows from its file name, so a bundle (and a pipeline step in history) needs no more. */
import path from 'node:path';
import type { Language } from './runtime/manifest.js';

export const PYTHON_EXTENSIONS = ['.py'];

export function taskLanguage(entryFile: string): Language {
  return PYTHON_EXTENSIONS.includes(path.extname(entryFile)) ? 'python' : 'js';
}
