import { describe, expect, it } from 'vitest';
import { hideHostPaths } from '../../../src/sandbox/host-paths.js';
import { TaskOptionsError } from '../../../src/config/errors.js';
import { fixture } from '../../helpers.js';
import { pyBundle, usePythonSandbox } from './python.js';

const py = usePythonSandbox();

const describeFile = async (file: string) => py.sandbox().describe(await pyBundle(file), { baseDir: py.dir().base });
const describeError = async (file: string): Promise<TaskOptionsError> => {
  const error: unknown = await describeFile(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TaskOptionsError);
  return error as TaskOptionsError;
};

describe('describing a Python task file', () => {
  it('lists the tasks with their resolved options, the Python spelling mapped to the options', async () => {
    const tasks = await describeFile('hello.py');
    expect([...tasks.keys()]).toEqual(['main', 'other']);
    expect(tasks.get('main')).toEqual({
      name: 'main',
      compute: 100_000_000,
      ram: 64 * 1024 * 1024,
      timeout: 30_000,
      maxRetries: 1,
      allowedFiles: [
        { path: 'data', mode: 'read-only' },
        { path: 'out', mode: 'read-write' },
      ],
      allowedHosts: ['api.example.com'],
      envVariables: ['API_KEY'],
      secrets: {},
      maxResponseSize: 10 * 1024 * 1024,
    });
    // A bare @task: named after its function, with the built-in defaults.
    expect(tasks.get('other')).toEqual({
      name: 'other',
      compute: 2_000_000_000,
      ram: 256 * 1024 * 1024,
      timeout: 60_000,
      maxRetries: 0,
      allowedFiles: [],
      allowedHosts: [],
      envVariables: [],
      secrets: {},
      maxResponseSize: 10 * 1024 * 1024,
    });
  });

  it('refuses an option spelled the JavaScript way, naming the file, the task and the option', async () => {
    const error = await describeError('bad_option.py');
    expect(error.file).toBe(fixture('python/bad_option.py'));
    expect(error.task).toBe('main');
    expect(error.option).toBe('maxRetries');
    expect(error.message).toContain('task "main": option "maxRetries": unknown option');
    expect(error.message).toContain('max_retries');
    const envelope = await py.run('bad_option.py', 'main');
    // The same message, with the host's directories hidden, as in every envelope.
    expect(envelope.error).toEqual({ error_type: 'invalid_task', message: hideHostPaths(error.message, py.dir().base) });
  });

  it('refuses a bad ram value, naming option "ram"', async () => {
    const error = await describeError('bad_ram.py');
    expect(error.file).toBe(fixture('python/bad_ram.py'));
    expect(error.task).toBe('main');
    expect(error.option).toBe('ram');
    expect(error.message).toContain('task "main": option "ram": got "lots"');
  });

  it('names allowed_files entries the Python way', async () => {
    const error = await describeError('bad_files.py');
    expect(error.option).toBe('allowed_files[1]');
    expect(error.message).toContain('got absolute path "/etc"');
  });

  it('refuses a file that declares no task, saying how to declare one', async () => {
    const error = await describeError('no_tasks.py');
    expect(error.message).toContain('no_tasks.py: declares no tasks');
    expect(error.message).toContain('@task');
  });

  it('refuses a file with a syntax error, naming the file', async () => {
    const error = await describeError('syntax_error.py');
    expect(error.message).toContain('syntax_error.py: cannot load the task file: ');
    expect(error.message).toMatch(/syntax ?error/i);
    expect(error.message).toContain('line 5');
  });

  it('refuses a file whose top-level code never finishes', async () => {
    const error = await describeError('top_level_spin.py');
    expect(error.message).toContain('top_level_spin.py: cannot load the task file: its top-level code used more fuel');
    expect((await py.run('top_level_spin.py', 'main')).error?.error_type).toBe('invalid_task');
  });
});
