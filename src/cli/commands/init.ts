/** `capsule init [dir]`: write a new project (cli/init-template.ts) into an empty or new directory. */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../package-paths.js';
import { UsageError } from '../errors.js';
import { reportUserError } from '../exit-codes.js';
import { processIo, type CommandIo } from '../io.js';
import { projectFiles } from '../init-template.js';

export interface InitOptions {
  /** Default: the working directory. */
  dir?: string;
  io?: CommandIo;
}

export async function init(options: InitOptions): Promise<number> {
  const io = options.io ?? processIo();
  try {
    const dir = path.resolve(io.cwd, options.dir ?? '.');
    const shown = options.dir ?? '.';
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) throw new UsageError(`${shown}: not a directory`);
      const present = readdirSync(dir);
      // Refused before anything is written: a project is never mixed into existing files.
      if (present.length > 0) throw new UsageError(`${shown}: not empty (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', ...' : ''}); give a new or empty directory`);
    }
    const version = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const files = projectFiles(path.basename(dir), version);
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), text);
    }
    io.out(`wrote ${Object.keys(files).length} files to ${shown}. Next:`);
    io.out(`  cd ${shown} && npm install`);
    io.out(`  npx capsule run pipeline.yaml --input '{"name":"Ada"}'`);
    io.out('  npm start');
    return 0;
  } catch (error) {
    return reportUserError(io, error);
  }
}
