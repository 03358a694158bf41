/**
 * `capsule setup`: builds the sandbox runtimes now instead of at first use (npm install runs it), and with
 * `--temporal` also finds or installs the Temporal CLI for the embedded dev server (CI runs that).
 */
import { findTemporalBinary } from '../../client/binary.js';
import { processIo, type CommandIo } from '../io.js';
import { LANGUAGE_NAMES, loadRuntime, type Language, type Runtime } from '../../sandbox/index.js';
import { EXIT } from '../exit-codes.js';

export interface SetupOptions {
  temporal: boolean;
  /**
   * A machine without Python 3 and venv can still run JavaScript tasks: `npm install` must not fail there. Run
   * directly (and in CI), setup fails instead, so a broken Python set-up is never silent.
   */
  pythonOptional: boolean;
}

export async function setupCommand(options: SetupOptions, io: CommandIo = processIo()): Promise<number> {
  // Both runtimes build at once (each in its own process, mostly single-threaded: on two cores this saves about the
  // JavaScript build's time on a fresh machine), so a build step's line names its language.
  const reportFor = (language: Language) => (line: string) => io.err(`capsule: ${line.startsWith('  ') ? `  ${LANGUAGE_NAMES[language]}: ${line.trimStart()}` : line}`);
  const ready = (runtime: Runtime) => io.err(`capsule: ${LANGUAGE_NAMES[runtime.language]} sandbox runtime ${runtime.manifest.hash} ready (${runtime.dir})`);
  const python = loadRuntime('python', reportFor('python'));
  python.catch(() => undefined);
  ready(await loadRuntime('js', reportFor('js')));
  let code: number = EXIT.ok;
  try {
    ready(await python);
  } catch (error) {
    // JavaScript tasks work without it; Python tasks retry the build on first use and fail with this same error.
    io.err(`capsule: the Python sandbox runtime could not be built, so Python tasks cannot run yet:\n${error instanceof Error ? error.message : String(error)}`);
    if (options.pythonOptional) io.err('capsule: JavaScript and TypeScript tasks are ready; run "npx capsule setup" again once Python is installed.');
    else code = EXIT.failed;
  }
  if (options.temporal) {
    const binary = await findTemporalBinary({ report: (line) => io.err(`capsule: temporal cli: ${line}`) });
    io.err(`capsule: Temporal CLI ready (${binary})`);
  }
  return code;
}
