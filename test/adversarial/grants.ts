/** Attacks on file grants: link races, special files, grant roots, links as grants, overlapping grants. */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers.js';
import { type AdversarialContext, HOST_SECRET } from './context.js';

/** Guest loop iterations in the race: each reads two raced names and writes two. */
const RACE_ITERATIONS = { js: 2500, python: 1500 };

async function withRacer<T>(ctx: AdversarialContext, run: () => Promise<T>): Promise<{ result: T; swaps: number }> {
  const raceDir = path.join(ctx.base, 'data/race');
  rmSync(raceDir, { recursive: true, force: true });
  mkdirSync(path.join(raceDir, 'dir'), { recursive: true });
  writeFileSync(path.join(raceDir, 'dir/secret.txt'), 'inside copy');
  writeFileSync(path.join(raceDir, 'file'), 'inside');
  writeFileSync(path.join(raceDir, 'wfile'), 'inside');
  const racer = spawn(process.execPath, [path.join(repoRoot, 'test/adversarial/racer.mjs'), raceDir, ctx.outside], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  racer.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve) => racer.stdout.once('data', () => resolve()));
  try {
    const result = await run();
    return { result, swaps: await stopRacer() };
  } catch (error) {
    await stopRacer();
    throw error;
  }
  function stopRacer(): Promise<number> {
    return new Promise((resolve) => {
      racer.once('close', () => resolve((JSON.parse(output.split('\n').pop() || '{"swaps":0}') as { swaps: number }).swaps));
      racer.kill('SIGTERM');
    });
  }
}

function expectOutsideUntouched(ctx: AdversarialContext): void {
  expect(readFileSync(path.join(ctx.outside, 'secret.txt'), 'utf8')).toBe(HOST_SECRET);
  expect(readFileSync(path.join(ctx.outside, 'target.txt'), 'utf8')).toBe('outside, unchanged');
  expect(readdirSync(ctx.outside).sort()).toEqual(['secret.txt', 'target.txt']);
}

export function defineGrantAttacks(ctx: AdversarialContext): void {
  describe('grants hold under races and links', () => {
    beforeAll(() => ctx.beginClass());
    afterAll(() => ctx.endClass('grants'));

    for (const language of ['js', 'python'] as const) {
      it(`${language}: ${RACE_ITERATIONS[language]} iterations against a racer swapping links, hard links and directories leak nothing`, async () => {
        const { result: envelope, swaps } = await withRacer(ctx, () => ctx.run(language === 'js' ? 'attacks.ts' : 'attacks.py', 'race', [RACE_ITERATIONS[language]]));
        expect(envelope.error).toBeNull();
        const seen = envelope.result as Record<string, number>;
        console.log(`race (${language}): ${swaps} host swaps; the guest saw ${JSON.stringify(seen)}`);
        expect(seen.leaked).toBe(0);
        // Both sides of the race happened: reads that found the inside file and reads refused as links.
        expect(seen.inside).toBeGreaterThan(0);
        expect(Object.entries(seen).some(([key, n]) => key.startsWith('read') && n > 0)).toBe(true);
        expect(swaps).toBeGreaterThan(50);
        expectOutsideUntouched(ctx);
        expect(envelope.execution.denials.every((d) => d.capability === 'file' && !d.reason.includes(ctx.root))).toBe(true);
      });
    }

    it('refuses FIFOs, sockets and devices in a granted directory at once, in both languages, without blocking', async () => {
      const names = ['pipe', 'socket'];
      execFileSync('mkfifo', [path.join(ctx.base, 'data/pipe')]);
      const server = net.createServer().listen(path.join(ctx.base, 'data/socket'));
      await new Promise((resolve) => server.once('listening', resolve));
      try {
        // A device node needs CAP_MKNOD; where the test runs without it, FIFOs and sockets stand for special files.
        try {
          execFileSync('mknod', [path.join(ctx.base, 'data/zero'), 'c', '1', '5'], { stdio: 'ignore' });
          names.push('zero');
        } catch {
          console.log('special files: mknod is not permitted here; device nodes are not covered on this machine');
        }
        const js = await ctx.run('attacks.ts', 'special', [names]);
        const py = await ctx.run('attacks.py', 'special', [names]);
        for (const name of names) {
          for (const op of ['read', 'write', 'append']) expect((js.result as Record<string, string>)[`${op} ${name}`]).toMatch(/^EACCES: .*(not a regular file|FIFOs)/);
          for (const op of ['read', 'write']) expect((py.result as Record<string, string>)[`${op} ${name}`]).toMatch(/^PermissionError: .*not a regular file/);
        }
        expect((js.result as Record<string, string>).readdir).toBe('ok');
        for (const envelope of [js, py]) {
          expect(envelope.success).toBe(true);
          expect(envelope.execution.duration_ms).toBeLessThan(15_000);
          expect(envelope.execution.denials.length).toBeGreaterThan(0);
        }
      } finally {
        server.close();
        for (const name of ['pipe', 'zero']) rmSync(path.join(ctx.base, 'data', name), { force: true });
      }
    });

    it('never removes or moves a grant root or a directory holding one; the nested read-only grant stays read-only', async () => {
      writeFileSync(path.join(ctx.base, 'work/ref/kept.txt'), 'kept');
      writeFileSync(path.join(ctx.base, 'work/plain.txt'), 'plain');
      const envelope = await ctx.run('attacks.ts', 'roots');
      expect(envelope.result).toEqual({
        'write into the nested read-only grant': 'EACCES',
        'remove a file of the nested read-only grant': 'EACCES',
        'rename the nested grant': 'EACCES',
        'rename a file over the nested grant': 'EACCES',
        'remove the nested grant': 'EACCES',
        'rm -r the grant holding it': 'EACCES',
        'rm -r the nested grant': 'EACCES',
        'rename the outer grant': 'EACCES',
        'write in the outer grant': 'ok',
      });
      expect(readFileSync(path.join(ctx.base, 'work/ref/kept.txt'), 'utf8')).toBe('kept');
      expect(existsSync(path.join(ctx.base, 'work/ref/new.txt'))).toBe(false);
      expect(readFileSync(path.join(ctx.base, 'work/plain.txt'), 'utf8')).toBe('written');
    });

    it('a read-only directory reached through a read-write alias (a mount) stays read-only', async () => {
      const mounts = ['work::w:rw', 'work/ref::r'];
      const attempt = async (target: string) => (await ctx.run('attacks.ts', 'writer', [target], { mounts })).result;
      expect(await attempt('w/ref/new.txt')).toBe('EACCES');
      expect(await attempt('r/new.txt')).toBe('EACCES');
      expect(await attempt('w/new.txt')).toBe('ok');
      // The same directory under two names, one read-write: the narrower mode wins for both.
      expect((await ctx.run('attacks.ts', 'writer', ['a/x.txt'], { mounts: ['work/ref::a:rw', 'work/ref::b:ro'] })).result).toBe('EACCES');
      expect(existsSync(path.join(ctx.base, 'work/ref/new.txt'))).toBe(false);
      expect(existsSync(path.join(ctx.base, 'work/ref/x.txt'))).toBe(false);
      expect(readFileSync(path.join(ctx.base, 'work/new.txt'), 'utf8')).toBe('written by the guest');
    });

    it('refuses a granted directory that is a symbolic link pointing out, before anything runs', async () => {
      symlinkSync(ctx.outside, path.join(ctx.base, 'linked'));
      try {
        const envelope = await ctx.run('attacks.ts', 'hello', ['x'], { mounts: ['linked::data2'] });
        expect(envelope.error).toEqual({ error_type: 'invalid_task', message: expect.stringContaining('goes through a symbolic link') });
        expect(JSON.stringify(envelope)).not.toContain(ctx.outside);
      } finally {
        rmSync(path.join(ctx.base, 'linked'));
      }
    });
  });
}
