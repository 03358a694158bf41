/**
 * componentize-py, the tool that builds the Python runner component. It comes from PyPI as a self-contained
 * wheel (CPython for WASI inside), so Capsule installs one pinned version into its own virtual environment in the
 * cache, once per machine, and never touches the user's Python packages.
 */
import { execFile } from 'node:child_process';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { capsuleCacheDir } from '../../config/paths.js';

/** Pinned: the runner's Python version, its stdlib and its ABI with the host all come from this release. */
export const COMPONENTIZE_PY_VERSION = '0.25.1';

const run = promisify(execFile);

/** How to run componentize-py from the environment: a command and the arguments before componentize-py's own. */
export interface ComponentizePy {
  command: string;
  args: string[];
}

/**
 * Through the environment's interpreter rather than its `bin/componentize-py` script: pip writes the staging
 * directory's absolute path into scripts' shebangs, and the environment is renamed into place after installing.
 */
function invocation(venv: string): ComponentizePy {
  const python = path.join(venv, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
  return { command: python, args: ['-c', 'import sys; from componentize_py import script; sys.argv[0] = "componentize-py"; sys.exit(script())'] };
}

const INSTALLED_MARKER = 'capsule-installed';

/** `CAPSULE_PYTHON`, else `python3`: only used to create the virtual environment. */
function hostPython(): string {
  return process.env.CAPSULE_PYTHON ?? 'python3';
}

export async function componentizePy(report: (line: string) => void): Promise<ComponentizePy> {
  const venv = path.join(capsuleCacheDir(), 'toolchain', `componentize-py-${COMPONENTIZE_PY_VERSION}`);
  if (existsSync(path.join(venv, INSTALLED_MARKER))) return invocation(venv);
  rmSync(venv, { recursive: true, force: true }); // an environment from before the marker, or a broken one

  report(`installing componentize-py ${COMPONENTIZE_PY_VERSION} from PyPI into ${venv} (once per machine)`);
  const staging = `${venv}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  const python = hostPython();
  try {
    await run(python, ['-m', 'venv', staging]);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(
      `Python tasks need componentize-py, which Capsule installs with "${python} -m venv" and pip, and that failed: ${failureText(error)}\n` +
        'Install Python 3.10 or newer with its venv module (Debian: apt-get install python3 python3-venv), or set CAPSULE_PYTHON to such an interpreter.',
    );
  }
  try {
    await run(invocation(staging).command, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet', `componentize-py==${COMPONENTIZE_PY_VERSION}`], {
      maxBuffer: 16 * 1024 * 1024,
    });
    await run(invocation(staging).command, [...invocation(staging).args, '--version']);
    writeFileSync(path.join(staging, INSTALLED_MARKER), `componentize-py ${COMPONENTIZE_PY_VERSION}\n`);
    renameSync(staging, venv);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (existsSync(path.join(venv, INSTALLED_MARKER))) return invocation(venv); // another process installed it meanwhile
    throw new Error(`installing componentize-py ${COMPONENTIZE_PY_VERSION} from PyPI failed: ${failureText(error)}`);
  }
  report(`componentize-py ${COMPONENTIZE_PY_VERSION} installed`);
  return invocation(venv);
}

function failureText(error: unknown): string {
  const { stderr, message } = error as { stderr?: string; message?: string };
  return (stderr?.trim() || message || String(error)).slice(-2000);
}
