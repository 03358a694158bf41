/**
 * A command's JSON input, from `--input <json>`, `--input -` (standard input) or `--input-file FILE`. Files and
 * standard input carry inputs of any size (one command-line argument stops at 128 KB on Linux).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { InputText } from '../client/input.js';
import type { CommandIo } from './io.js';
import { UsageError } from './errors.js';

export interface InputOptions {
  /** JSON text, or "-" for standard input. */
  input?: string;
  /** A file holding the JSON, relative to the working directory. */
  inputFile?: string;
}

/** The input's text, or undefined when none was given. */
export async function readInput(options: InputOptions, io: Pick<CommandIo, 'cwd' | 'stdin'>): Promise<InputText | undefined> {
  if (options.input !== undefined && options.inputFile !== undefined) {
    throw new UsageError('give the input with --input or with --input-file, not both');
  }
  if (options.inputFile !== undefined) {
    const file = path.resolve(io.cwd, options.inputFile);
    try {
      return { text: await readFile(file, 'utf8'), source: `--input-file ${options.inputFile}` };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new UsageError(`--input-file ${options.inputFile}: cannot read ${file} (${code})`);
    }
  }
  if (options.input === '-') {
    if (io.stdin === undefined) throw new UsageError('--input -: this command has no standard input to read');
    return { text: await io.stdin(), source: '--input - (standard input)' };
  }
  return options.input === undefined ? undefined : { text: options.input, source: '--input' };
}
