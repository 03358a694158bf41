/**
 * The `capsule` command line. This file only declares commands; each lives in commands/<name>.ts as an async
 * function returning an exit code, and only this file calls process.exit.
 */
import { Command, CommanderError } from 'commander';
import { execCommand } from './commands/exec.js';
import { setupCommand } from './commands/setup.js';
import { EXIT, processIO } from './io.js';

const program = new Command('capsule')
  .description('Durable pipelines of untrusted code: each task in a fresh WebAssembly sandbox, chained on Temporal')
  .exitOverride()
  .showHelpAfterError();

let pending: Promise<number> | undefined;

program
  .command('exec')
  .description('run one task in a fresh sandbox (no Temporal) and print its envelope')
  .argument('<file>', 'task file (.ts or .js)')
  .argument('[args...]', 'arguments passed to the task, as strings')
  .option('--task <name>', 'task to run', 'main')
  .option('--input <json>', 'one JSON value passed as the task\'s argument')
  .option('--json', 'print only the envelope JSON on stdout', false)
  .addHelpText('after', '\nExit codes: 0 success, 1 the task failed, 2 usage or validation error.\nExample: capsule exec examples/hello/main.ts --input \'{"name":"Ada"}\' --json')
  .action((file: string, args: string[], opts: { task: string; input?: string; json: boolean }) => {
    pending = execCommand({ file, args, task: opts.task, input: opts.input, json: opts.json, cwd: process.cwd() }, processIO);
  });

program
  .command('setup')
  .description('build the sandbox runtime now (done once per version; npm install runs it)')
  .action(() => {
    pending = setupCommand(processIO);
  });

async function main(): Promise<number> {
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw error;
  }
  return pending ?? EXIT.ok;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`capsule: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(EXIT.failed);
  },
);
