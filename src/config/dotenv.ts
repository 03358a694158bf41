/**
 * Where secret values come from: the environment of the process Capsule runs in (the worker's, or the CLI's), then
 * `.env.local`, then `.env` in the directory it runs in. The environment always wins, and `.env.local` wins over
 * `.env`, as dotenv tools do. Never from workflow input or task options: those are visible in history.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DotenvError } from './errors.js';
import { ENV_NAME } from './secrets.js';

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', $: '$' };

/**
 * Parses dotenv syntax: `NAME=value`, `export NAME=value`, `# comments`, unquoted values (trimmed, ` #` starts a
 * comment), 'single-quoted' (literal) and "double-quoted" values (escapes \n \r \t \" \\; may span lines). A line
 * that is only a name has no value and is skipped. Anything else is a DotenvError naming the line.
 */
export function parseDotenv(text: string, file: string): Map<string, string> {
  const values = new Map<string, string>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNumber = i + 1;
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([^=\s]+)\s*(?:=\s*(.*))?$/.exec(line);
    if (!match) throw new DotenvError(file, lineNumber, 'expected NAME=value');
    const [, name, rest] = match as unknown as [string, string, string | undefined];
    if (!ENV_NAME.test(name)) throw new DotenvError(file, lineNumber, `"${name}" is not a variable name (letters, digits and "_", not starting with a digit)`);
    if (rest === undefined) continue;
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      let body = rest.slice(1);
      let end = closingQuote(body, quote);
      while (end < 0 && quote === '"' && i + 1 < lines.length) {
        body += `\n${lines[++i]!}`;
        end = closingQuote(body, quote);
      }
      if (end < 0) throw new DotenvError(file, lineNumber, `the ${quote === '"' ? 'double' : 'single'} quote that opens the value of ${name} is never closed`);
      const after = body.slice(end + 1).trim();
      if (after !== '' && !after.startsWith('#')) throw new DotenvError(file, lineNumber, `unexpected text after the quoted value of ${name}`);
      const raw = body.slice(0, end);
      values.set(name, quote === '"' ? raw.replace(/\\(.)/g, (all, c: string) => ESCAPES[c] ?? all) : raw);
    } else {
      values.set(name, rest.replace(/\s+#.*$/, '').trim());
    }
  }
  return values;
}

function closingQuote(body: string, quote: string): number {
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '\\' && quote === '"') i++;
    else if (body[i] === quote) return i;
  }
  return -1;
}

export interface SecretSource {
  /** The process environment secrets are read from first. */
  env: Record<string, string | undefined>;
  /** Where `.env` and `.env.local` are read from (the directory Capsule runs in). */
  dir: string;
}

/** Reads the files once; `get(name)` is the environment's value, else `.env.local`'s, else `.env`'s. */
export function loadSecretValues(source: SecretSource): { get(name: string): string | undefined } {
  const fromFiles = new Map<string, string>();
  for (const name of ['.env', '.env.local']) {
    const file = path.join(source.dir, name);
    if (!existsSync(file)) continue;
    for (const [key, value] of parseDotenv(readFileSync(file, 'utf8'), file)) fromFiles.set(key, value);
  }
  return { get: (name) => source.env[name] ?? fromFiles.get(name) };
}
