import { describe, expect, it } from 'vitest';
import { Sandbox, SandboxBusyError } from '../../src/sandbox/index.js';
import { fixtureBundle, useSandboxAndDir } from '../helpers.js';

const shared = useSandboxAndDir();

const describeFile = async (file: string) => shared.sandbox().describe(await fixtureBundle(file), { baseDir: shared.dir().base });

describe('describing a task file', () => {
  it('lists the tasks with their resolved options', async () => {
    const tasks = await describeFile('hello.ts');
    expect([...tasks.keys()]).toEqual(['main', 'other-task']);
    expect(tasks.get('main')).toMatchObject({ compute: 100_000_000, ram: 64 * 1024 * 1024, timeout: 10_000 });
  });

  it('evaluates top-level code without any capability while reading options, and says so when that fails', async () => {
    await expect(describeFile('top-level-uncaught.ts')).rejects.toThrow(
      /top-level-uncaught\.ts: cannot load the task file: .*permission denied.*top-level code runs without any capability/,
    );
  });

  it('evaluates the file again for the run, with the task\'s grants', async () => {
    const envelope = await shared.sandbox().run({ bundle: await fixtureBundle('top-level-read.ts'), baseDir: shared.dir().base });
    expect(envelope.result).toEqual({ atLoad: 'input for the guest', now: 'input for the guest' });
  });

  it('refuses a file whose top-level code never finishes, naming the file', async () => {
    await expect(describeFile('top-level-spin.ts')).rejects.toThrow(/top-level-spin\.ts: cannot load the task file: its top-level code used more fuel/);
    const envelope = await shared.sandbox().run({ bundle: await fixtureBundle('top-level-spin.ts'), baseDir: shared.dir().base });
    expect(envelope.error?.error_type).toBe('invalid_task');
  });

  it('blames a busy machine, not the task, when the wall-clock backstop stops top-level code within its fuel', async () => {
    // A backstop far below what the file's top-level code needs to spend its compute: as on a machine too busy to run it.
    const busy = await Sandbox.create({ poolSize: 1, describeBackstopMs: 50 });
    try {
      const error = await busy.describe(await fixtureBundle('top-level-spin.ts'), { baseDir: shared.dir().base }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SandboxBusyError);
      expect((error as Error).message).toMatch(/top-level-spin\.ts: the machine was too busy to read the task options: running the file's top-level code took more than \d+ms of wall-clock time \(its fuel budget, which bounds that code, was not used up\)/);
    } finally {
      await busy.close();
    }
  });

  it('refuses two tasks with the same name', async () => {
    await expect(describeFile('duplicate-names.ts')).rejects.toThrow('task "main": option "name": two tasks in this file have this name');
  });

  it('refuses a file that declares no task', async () => {
    await expect(describeFile('no-tasks.ts')).rejects.toThrow('no-tasks.ts: declares no tasks');
  });
});
