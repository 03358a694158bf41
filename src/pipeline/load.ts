/**
 * Reads a pipeline definition from YAML, JSON or a `*.pipeline.ts` module, or wraps a task file as a one-step
 * pipeline. Only parsing and schema checks happen here; references and tasks are checked by graph.ts / compile.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { PipelineError } from './errors.js';
import { firstIssue } from '../zod-issue.js';
import { fieldOf, pipelineSchema, type PipelineDefinition } from './schema.js';

export interface LoadedPipeline {
  /** Absolute path of the file given. */
  file: string;
  definition: PipelineDefinition;
}

const TASK_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs', '.py'];
/** Pipeline modules are named *.pipeline.ts so a task file (untrusted code) is never imported on the host. */
const MODULE_PATTERN = /\.pipeline\.(ts|mts|js|mjs)$/;

export async function loadPipeline(fileArg: string, cwd: string = process.cwd()): Promise<LoadedPipeline> {
  const file = path.resolve(cwd, fileArg);
  if (!existsSync(file)) throw new PipelineError(fileArg, undefined, `file not found (looked for ${file})`);
  const ext = path.extname(file).toLowerCase();
  let raw: unknown;
  if (ext === '.yaml' || ext === '.yml') raw = parseYamlFile(file);
  else if (ext === '.json') raw = parseJsonFile(file);
  else if (MODULE_PATTERN.test(file)) raw = await importModule(file);
  else if (TASK_EXTENSIONS.includes(ext)) raw = taskFilePipeline(file);
  else {
    throw new PipelineError(file, undefined, `unsupported file type "${ext}"; expected a pipeline (.yaml, .yml, .json, .pipeline.ts) or a task file (.ts, .js, .py)`);
  }
  return checkedDefinition(file, raw);
}

/**
 * A definition that did not come from a file of its own (an MCP client's inline pipeline), checked as a file's
 * would be. `file` names it in messages, and its directory is where task paths resolve.
 */
export function checkedDefinition(file: string, raw: unknown): LoadedPipeline {
  const parsed = pipelineSchema.safeParse(raw);
  if (!parsed.success) {
    const { path: where, message } = firstIssue(parsed.error, 'field');
    throw new PipelineError(file, fieldOf(where, raw), message);
  }
  return { file, definition: parsed.data };
}

/** A task file run directly: one step "main" running its `main` export with the whole input. */
function taskFilePipeline(file: string): unknown {
  const name = path.basename(file).replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9_.-]/g, '_') || 'task';
  return { name, steps: [{ id: 'main', task: `./${path.basename(file)}`, input: '{{ input }}' }] };
}

function parseYamlFile(file: string): unknown {
  try {
    return parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    if (error instanceof YAMLParseError) {
      const pos = error.linePos?.[0];
      const where = pos === undefined ? '' : `line ${pos.line}, column ${pos.col}: `;
      throw new PipelineError(file, undefined, `not valid YAML (${where}${error.message.split('\n')[0]})`);
    }
    throw error;
  }
}

function parseJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new PipelineError(file, undefined, `not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

async function importModule(file: string): Promise<unknown> {
  // tsx loads TypeScript on demand; the module is the user's own pipeline definition (trusted), never a task.
  const { tsImport } = await import('tsx/esm/api');
  const mod = (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
  const value = mod.pipeline ?? mod.default;
  if (value === undefined) throw new PipelineError(file, undefined, 'expected the module to export `pipeline` or a default pipeline object');
  return value;
}
