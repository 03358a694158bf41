import { describe, expect, it } from 'vitest';
import { expectHelloEnvelope } from '../../helpers.js';
import { pyBundle, usePythonSandbox } from './python.js';

const py = usePythonSandbox();

describe('running a Python task', () => {
  it('returns the result, the captured print output and the figures in a valid envelope', async () => {
    const envelope = await py.run('hello.py', 'main', ['Ada', { n: 1 }]);
    expectHelloEnvelope(envelope);
  });

  it('runs a bare @task by its function name', async () => {
    const envelope = await py.run('hello.py', 'other');
    expect(envelope.result).toBe('from other');
    expect(envelope.execution.task_name).toBe('other');
  });

  it('reports an unknown task as invalid_task, listing the tasks there are', async () => {
    const envelope = await py.run('hello.py', 'missing');
    expect(envelope.error).toEqual({ error_type: 'invalid_task', message: expect.stringContaining('no task named "missing" (tasks: main, other)') });
  });

  it('caps captured output and says so', async () => {
    const envelope = await py.run('errors.py', 'chatty', [1500]);
    expect(envelope.success).toBe(true);
    expect(envelope.result).toBe(1500);
    expect(envelope.execution.truncated).toBe(true);
    expect(envelope.execution.stdout.length).toBe(1024 * 1024);
  });
});

describe('Python errors', () => {
  it('turns an exception into task_error whose message is the traceback\'s last line', async () => {
    const envelope = await py.run('errors.py', 'fail');
    expect(envelope.success).toBe(false);
    expect(envelope.result).toBeNull();
    // The error is the traceback's last line; the whole traceback ends stderr, as CPython prints it.
    expect(envelope.error).toEqual({ error_type: 'task_error', message: 'ValueError: boom' });
    const traceback = envelope.execution.stderr;
    expect(traceback).toMatch(/^Traceback \(most recent call last\):\n/);
    expect(traceback).toContain('File "errors.py", line');
    expect(traceback).toContain('raise ValueError("boom")');
    expect(traceback.endsWith('ValueError: boom\n')).toBe(true);
    // The runner's own frames are not the task's business.
    expect(traceback).not.toContain('capsule_runner');
  });

  it('reports the last exception of a chain', async () => {
    expect((await py.run('errors.py', 'fail-chained')).error).toEqual({ error_type: 'task_error', message: 'RuntimeError: while handling it' });
  });

  it('refuses a result that is not JSON-serialisable', async () => {
    const envelope = await py.run('errors.py', 'not-json');
    expect(envelope.error?.error_type).toBe('task_error');
    expect(envelope.error?.message).toContain('not JSON-serialisable');
  });

  it('reports a syntax error as invalid_task, before anything runs', async () => {
    const envelope = await py.run('syntax_error.py', 'main');
    expect(envelope.success).toBe(false);
    expect(envelope.error?.error_type).toBe('invalid_task');
    expect(envelope.error?.message).toContain('syntax_error.py');
    expect(envelope.error?.message).toMatch(/syntax ?error/i);
    expect(envelope.error?.message).toContain('line 5');
    expect(envelope.execution.fuel_consumed).toBe(0);
  });

  it('turns os._exit(3) into task_error, not a crash, and the sandbox stays healthy', async () => {
    const envelope = await py.run('errors.py', 'exit');
    expect(envelope.success).toBe(false);
    // wasi:cli/exit carries only success or failure: the status itself does not reach the host.
    expect(envelope.error).toEqual({ error_type: 'task_error', message: expect.stringContaining('the task exited the sandbox process') });
    expect((await py.run('errors.py', 'main')).result).toBe('ok');
  });

  it('turns sys.exit(2) into task_error', async () => {
    const envelope = await py.run('errors.py', 'sys-exit');
    expect(envelope.success).toBe(false);
    expect(envelope.error).toEqual({ error_type: 'task_error', message: 'SystemExit: 2' });
    expect((await py.run('errors.py', 'main')).result).toBe('ok');
  });
});

describe('bundling Python', () => {
  it('bundles the local modules and packages a task imports, and they import inside the sandbox', async () => {
    const bundle = await pyBundle('with_helpers.py');
    const source = JSON.parse(bundle.code) as { entry: string; files: Record<string, string> };
    expect(source.entry).toBe('with_helpers.py');
    expect(Object.keys(source.files)).toEqual(['helpers.py', 'textlib/__init__.py', 'textlib/words.py', 'with_helpers.py']);
    const envelope = await py.run('with_helpers.py', 'main', ['hi']);
    expect(envelope.error).toBeNull();
    expect(envelope.result).toEqual({ shout: 'HI!', greeting: 'hello', exclaim: 'hi!!!', same_function: true, module: 'helpers' });
  });

  it('reports importing a module the sandbox cannot have (numpy) as invalid_task naming it', async () => {
    const envelope = await py.run('numpy_task.py', 'main');
    expect(envelope.success).toBe(false);
    expect(envelope.error?.error_type).toBe('invalid_task');
    expect(envelope.error?.message).toContain('numpy');
    expect(envelope.error?.message).toMatch(/C extension/i);
  });
});
