/**
 * The `capsule` command line. This file only declares commands; each lives in commands/<name>.ts as an async
 * function returning an exit code, imported when its command runs (so `capsule --help` loads neither the Temporal
 * SDK nor the sandbox). `main` returns that code: bin/capsule.js ends the process, once stdout and stderr have
 * drained (a pipe reader must get every byte of a large `--json` result).
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { EXIT } from './exit-codes.js';

const collect = (value: string, previous: string[]) => [...previous, value];
const MOUNT_HELP = 'add a directory of the working directory to the task\'s grants, as HOST[::GUEST][:ro|:rw] (read-only unless :rw; repeatable)';

const program = new Command('capsule')
  .description('Durable pipelines of untrusted code: each task in a fresh WebAssembly sandbox, chained on Temporal')
  .exitOverride()
  .showHelpAfterError();

let pending: Promise<number> | undefined;

program
  .command('exec')
  .description('run one task in a fresh sandbox (no Temporal) and print its envelope')
  .argument('<file>', 'task file (.ts, .js or .py)')
  .argument('[args...]', 'arguments passed to the task, as strings')
  .option('--task <name>', 'task to run', 'main')
  .option('--input <json>', 'one JSON value passed as the task\'s argument ("-": read it from standard input)')
  .option('--input-file <file>', 'like --input, read from a file (inputs of any size)')
  .option('--json', 'print only the envelope JSON on stdout', false)
  .option('--mount <spec>', MOUNT_HELP, collect, [])
  .addHelpText('after', '\nExit codes: 0 success, 1 the task failed, 2 usage or validation error.\nExamples:\n  capsule exec examples/hello/main.ts --input \'{"name":"Ada"}\' --json\n  capsule exec examples/hello/main.py --input-file input.json\n  echo \'{"name":"Ada"}\' | capsule exec examples/hello/main.ts --input -\n  capsule exec task.ts --mount sessions/abc::workspace:rw')
  .action((file: string, args: string[], opts: { task: string; input?: string; inputFile?: string; json: boolean; mount: string[] }) => {
    pending = import('./commands/exec.js').then(({ execCommand }) => execCommand({ file, args, task: opts.task, ...inputOf(opts), json: opts.json, mounts: opts.mount }));
  });

program
  .command('mcp')
  .description('an MCP server: agents run JavaScript and Python in sandboxes, keep files in sessions and start pipelines')
  .option('--http <[host:]port>', 'serve Streamable HTTP on this loopback address (default: stdio); port 0 picks a free one')
  .option('--root <dir>', "the server's directory: code may read it (at ./files/, read-only) and its pipelines may run (default: the working directory, not readable)")
  .option('--max-compute <fuel>', 'most fuel one call may use: LOW, MEDIUM, HIGH or a number (default LOW)')
  .option('--max-ram <size>', 'most memory one call may use (default 256MB)')
  .option('--max-timeout <duration>', 'longest one call may run (default 10s)')
  .option('--allow-host <pattern>', 'a host code may reach, such as api.example.com or *.example.org (repeatable; default: none)', (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
  .option('--max-output <size>', 'most of each of stdout, stderr and the result one call returns (default 256KB)')
  .option('--session-quota <size>', 'most one session may hold on disk (default 100MB)')
  .option('--max-sessions <n>', 'most sessions kept at once (default 100)')
  .addHelpText('after', '\nEvery setting can also be given in capsule.toml [mcp] (max_compute, max_ram, max_timeout, allow_hosts, max_output,\nsession_quota, max_sessions); flags win. A call may ask for less than a ceiling, never more.\nExamples:\n  capsule mcp\n  capsule mcp --root ./project --max-compute MEDIUM --max-timeout 30s --allow-host api.github.com\n  capsule mcp --http 127.0.0.1:8765')
  .action((opts: { http?: string; root?: string; maxCompute?: string; maxRam?: string; maxTimeout?: string; allowHost?: string[]; maxOutput?: string; sessionQuota?: string; maxSessions?: string }) => {
    pending = import('./commands/mcp.js').then(({ mcpCommand }) => mcpCommand(opts));
  });

program
  .command('init')
  .description('write a new project: a TypeScript and a Python task, a pipeline, a workflow, a host-API script')
  .argument('[dir]', 'a new or empty directory (default: the working directory)')
  .action((dir: string | undefined) => {
    pending = import('./commands/init.js').then(({ init }) => init(dir === undefined ? {} : { dir }));
  });

program
  .command('setup')
  .description('build the sandbox runtimes now (done once per version; npm install runs it)')
  .option('--temporal', 'also find or install the Temporal CLI for the embedded dev server', false)
  .option('--python-optional', 'exit 0 even if the Python runtime cannot be built (npm install uses this)', false)
  .action((opts: { temporal: boolean; pythonOptional: boolean }) => {
    pending = import('./commands/setup.js').then(({ setupCommand }) => setupCommand({ temporal: opts.temporal, pythonOptional: opts.pythonOptional }));
  });

// --- Temporal commands (src/cli/commands/{run,dev,worker,status,result,approve,cancel,terminate,history,watch}.ts) ---
const intOption = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`${name}: got "${value}"; expected a positive integer`);
  return n;
};

// Started by `capsule exec` in the background (cli/exec/server.ts); not for people to type, so not in --help.
program
  .command('exec-server', { hidden: true })
  .description("the resident server `capsule exec` runs tasks in: warm runtimes, ends after 15 minutes idle")
  .option('--language <language>', 'the runtime to load first: js or python', 'js')
  .option('--idle <ms>', 'end after this long without a caller (default 15 minutes)', intOption('--idle'))
  .action((opts: { language: string; idle?: number }) => {
    pending = import('./exec/server.js').then(({ serveExec }) => serveExec({ language: opts.language === 'python' ? 'python' : 'js', ...(opts.idle === undefined ? {} : { idleMs: opts.idle }) }));
  });

program
  .command('run')
  .description('run a pipeline (or a task file as a one-step pipeline) on Temporal, with live progress')
  .argument('<file>', 'pipeline (.yaml, .yml, .json, .pipeline.ts) or task file (.ts, .js)')
  .option('--input <json>', "the pipeline's input as JSON, replacing the file's input (\"-\": read it from standard input)")
  .option('--input-file <file>', 'like --input, read from a file (inputs of any size)')
  .option('--detach', 'submit and exit; follow it later with capsule watch <id>', false)
  .option('--json', 'print one JSON object: workflowId, status, steps with their envelopes', false)
  .option('--mount <spec>', `${MOUNT_HELP}; applies to every step`, collect, [])
  .addHelpText('after', '\nStarts the embedded Temporal server and a worker unless a server is configured (TEMPORAL_ADDRESS, capsule.toml)\nor `capsule dev` is running here. Ctrl-C detaches without cancelling.\nExit codes: 0 success, 1 the pipeline failed, 2 invalid file/input/configuration (nothing was started).\nExample: capsule run examples/research/pipeline.yaml --input \'{"topic":"wasm"}\'')
  .action((file: string, opts: { input?: string; inputFile?: string; detach: boolean; json: boolean; mount: string[] }) => {
    pending = import('./commands/run.js').then(({ run }) => run({ file, ...inputOf(opts), detach: opts.detach, json: opts.json, mounts: opts.mount }));
  });

program
  .command('start')
  .description('start a workflow of your own (written with capsule/workflow) with its tasks, with live progress')
  .argument('<workflowType>', 'the exported workflow function, such as reviewLoop')
  .option('--workflows <file>', 'your workflows file (.ts or .js), bundled with Capsule\'s on the worker this command runs')
  .option('--task <key=path>', 'a task the workflow\'s steps name, as KEY=path/to/task.ts[#export] (repeatable)', collect, [])
  .option('--input <json>', 'the workflow\'s input as JSON ("-": read it from standard input; default {})')
  .option('--input-file <file>', 'like --input, read from a file')
  .option('--detach', 'submit and exit; follow it later with capsule watch <id>', false)
  .option('--json', 'print one JSON object: workflowId, status, steps with their envelopes', false)
  .addHelpText('after', '\nLike `capsule run`, starts the embedded Temporal server and a worker unless a server is configured or `capsule dev`\nruns here; then the workers there must have the workflow (capsule worker --workflows FILE).\nExit codes: 0 success, 1 the workflow failed, 2 invalid file/input/workflow type (nothing is left running).\nExample: capsule start reviewLoop --task draft=examples/review-loop/tasks/draft.ts --task critique=examples/review-loop/tasks/critique.ts --input \'{"topic":"wasm","critics":["style"],"maxRounds":2}\'')
  .action((workflowType: string, opts: { workflows?: string; task: string[]; input?: string; inputFile?: string; detach: boolean; json: boolean }) => {
    pending = import('./commands/start.js').then(({ start }) => start({ workflowType, tasks: opts.task, ...inputOf(opts), detach: opts.detach, json: opts.json, ...(opts.workflows === undefined ? {} : { workflows: opts.workflows }) }));
  });

program
  .command('dev')
  .description('embedded Temporal server (Web UI, data in .capsule/) plus a worker, until Ctrl-C')
  .option('--port <port>', 'gRPC port (default 7233, or a free one)', intOption('--port'))
  .option('--ui-port <port>', 'Web UI port (default 8233, or a free one)', intOption('--ui-port'))
  .option('--workflows <file>', 'your workflows file, bundled with Capsule\'s on the worker (so capsule start can run them)')
  .action((opts: { port?: number; uiPort?: number; workflows?: string }) => {
    pending = import('./commands/dev.js').then(({ dev }) => dev({ ...(opts.port === undefined ? {} : { port: opts.port }), ...(opts.uiPort === undefined ? {} : { uiPort: opts.uiPort }), ...(opts.workflows === undefined ? {} : { workflows: opts.workflows }) }));
  });

program
  .command('worker')
  .description('a worker for the configured Temporal server (production); SIGINT/SIGTERM shut it down gracefully')
  .option('--task-queue <name>', 'task queue (default: CAPSULE_TASK_QUEUE, capsule.toml, or "capsule")')
  .option('--workflows <file>', 'your workflows file (.ts or .js), bundled with Capsule\'s workflows')
  .option('--concurrency <n>', 'steps run in parallel (default: number of cores)', intOption('--concurrency'))
  .option('--base-dir <dir>', 'resolve task allowedFiles here instead of the submitting directory')
  .option('--shutdown-grace <seconds>', 'on SIGINT/SIGTERM, how long running steps may finish before they are handed back (default 30)', intOption('--shutdown-grace'))
  .option('--metrics <host:port>', 'serve Prometheus metrics (the SDK\'s and Capsule\'s) at http://HOST:PORT/metrics (or CAPSULE_METRICS_ADDRESS)')
  .option('--health <host:port>', 'serve /livez and /readyz probes for orchestrators (or CAPSULE_HEALTH_ADDRESS)')
  .option('--otlp-endpoint <url>', 'export traces by OTLP/HTTP to this collector (or the standard OTEL_EXPORTER_OTLP_ENDPOINT)')
  .addHelpText('after', '\nExample: capsule worker --concurrency 4 --metrics 127.0.0.1:9464 --health 127.0.0.1:8081 --otlp-endpoint http://127.0.0.1:4318\nDetails: docs/deployment.md (scrape config, OTLP, probes).')
  .action((opts: { taskQueue?: string; workflows?: string; concurrency?: number; baseDir?: string; shutdownGrace?: number; metrics?: string; health?: string; otlpEndpoint?: string }) => {
    const { shutdownGrace, ...rest } = opts;
    pending = import('./commands/worker.js').then(({ worker }) => worker({ ...rest, ...(shutdownGrace === undefined ? {} : { graceSeconds: shutdownGrace }) }));
  });

program
  .command('result')
  .description('wait for a pipeline and print its result (exit 1 if it failed); full values come from the blob store')
  .argument('<workflowId>', 'printed by capsule run')
  .option('--step <id>', "print one finished step's full envelope (forEach items: \"step[2]\"), without waiting")
  .option('--out <file>', "write the full value (the pipeline's output, or with --step the step's result) to a JSON file")
  .option('--json', 'machine-readable output (every step with its full envelope)', false)
  .action((workflowId: string, opts: { json: boolean; step?: string; out?: string }) => {
    pending = import('./commands/result.js').then(({ result }) => result({ workflowId, json: opts.json, ...(opts.step === undefined ? {} : { step: opts.step }), ...(opts.out === undefined ? {} : { out: opts.out }) }));
  });

const byId = {
  status: async (options: { workflowId: string; json: boolean }) => (await import('./commands/status.js')).status(options),
  watch: async (options: { workflowId: string; json: boolean }) => (await import('./commands/watch.js')).watch(options),
  history: async (options: { workflowId: string; json: boolean }) => (await import('./commands/history.js')).history(options),
};
for (const [name, description, fn] of [
  ['status', "a pipeline's state and per-step progress", byId.status],
  ['watch', 'reattach to a pipeline: live progress, then the result', byId.watch],
  ['history', "a pipeline's event history (--json: Temporal's JSON export)", byId.history],
] as const) {
  program
    .command(name)
    .description(description)
    .argument('<workflowId>', 'printed by capsule run')
    .option('--json', 'machine-readable output', false)
    .action((workflowId: string, opts: { json: boolean }) => {
      pending = fn({ workflowId, json: opts.json });
    });
}

program
  .command('cancel')
  .description('cancel a running pipeline (running steps are stopped); exit 1 when the run cannot act on it now')
  .argument('<workflowId>', 'printed by capsule run')
  .addHelpText('after', '\nA cancellation is carried out by the workflow itself: it needs a worker that can run it. When none polls the\nrun\'s task queue, or its workflow tasks keep failing, cancel says so; `capsule terminate` stops the run regardless.')
  .action((workflowId: string) => {
    pending = import('./commands/cancel.js').then(({ cancel }) => cancel({ workflowId }));
  });

program
  .command('approve')
  .description('decide a pipeline step that waits for approval (its output: { approved, by, comment, at })')
  .argument('<workflowId>', 'printed by capsule run')
  .argument('<stepId>', 'the approval step (capsule status shows the ones waiting)')
  .option('--reject', 'reject instead of approving', false)
  .option('--comment <text>', 'recorded with the decision')
  .option('--by <name>', 'who decides (default: $USER)')
  .addHelpText('after', '\nRefused (exit 2) when the step is not an approval step of the run, is not waiting yet, or was already decided.')
  .action((workflowId: string, stepId: string, opts: { reject: boolean; comment?: string; by?: string }) => {
    pending = import('./commands/approve.js').then(({ approve }) => approve({ workflowId, stepId, reject: opts.reject, ...(opts.comment === undefined ? {} : { comment: opts.comment }), ...(opts.by === undefined ? {} : { by: opts.by }) }));
  });

program
  .command('terminate')
  .description('end a run at once on the server, without running its code (for runs that cannot act on a cancel)')
  .argument('<workflowId>', 'printed by capsule run')
  .option('--reason <text>', 'recorded in the history as the reason')
  .action((workflowId: string, opts: { reason?: string }) => {
    pending = import('./commands/terminate.js').then(({ terminate }) => terminate({ workflowId, ...(opts.reason === undefined ? {} : { reason: opts.reason }) }));
  });

program
  .command('gc')
  .description('delete blobs no open or recently closed run refers to (retention rule: docs/deployment.md)')
  .option('--dry-run', 'only report what would be deleted', false)
  .option('--retention <duration>', 'keep blobs of runs closed this recently (default [payloads].retention, 7d)')
  .option('--grace <duration>', 'never delete blobs written this recently (default [payloads].gc_grace, 1h)')
  .option('--json', 'machine-readable report', false)
  .action((opts: { dryRun: boolean; retention?: string; grace?: string; json: boolean }) => {
    pending = import('./commands/gc.js').then(({ gc }) => gc({ dryRun: opts.dryRun, json: opts.json, ...(opts.retention === undefined ? {} : { retention: opts.retention }), ...(opts.grace === undefined ? {} : { grace: opts.grace }) }));
  });

program
  .command('codec-server')
  .description("Temporal's remote codec endpoint with Capsule's codecs, so the Web UI shows payloads decoded")
  .option('--port <port>', 'port (default 8234)', intOption('--port'))
  .option('--host <host>', 'address to listen on (default 127.0.0.1)')
  .option('--ui-origin <url...>', 'Web UI origin(s) allowed to call it (default: [temporal].ui_url, else http://127.0.0.1:8233)')
  .action((opts: { port?: number; host?: string; uiOrigin?: string[] }) => {
    pending = import('./commands/codec-server.js').then(({ codecServer }) => codecServer({ ...(opts.port === undefined ? {} : { port: opts.port }), ...(opts.host === undefined ? {} : { host: opts.host }), ...(opts.uiOrigin === undefined ? {} : { uiOrigins: opts.uiOrigin }) }));
  });

function inputOf(opts: { input?: string; inputFile?: string }): { input?: string; inputFile?: string } {
  return { ...(opts.input === undefined ? {} : { input: opts.input }), ...(opts.inputFile === undefined ? {} : { inputFile: opts.inputFile }) };
}

/** Runs the command line `argv` (process.argv's shape) and returns its exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw error;
  }
  return pending ?? EXIT.ok;
}
