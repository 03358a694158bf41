/**
 * `capsule gc [--dry-run] [--retention 7d] [--grace 1h]`: deletes blobs no open run, nor any run closed within the
 * retention period, refers to (src/payloads/gc.ts has the rule). Prints what it kept and removed.
 */
import { openBackend } from '../../client/backend.js';
import { processIo, type CommandIo } from '../io.js';
import { reportUserError } from '../exit-codes.js';
import { DURATION_EXPECTED, formatBytes, parseDuration } from '../../config/units.js';
import { collectGarbage } from '../../payloads/gc.js';
import { UsageError } from '../errors.js';

export interface GcCommandOptions {
  dryRun?: boolean;
  /** e.g. "7d"; default capsule.toml [payloads].retention (7d). */
  retention?: string;
  /** e.g. "1h"; default capsule.toml [payloads].gc_grace (1h). */
  grace?: string;
  json?: boolean;
  io?: CommandIo;
}

export async function gc(options: GcCommandOptions): Promise<number> {
  const io = options.io ?? processIo();
  let backend: Awaited<ReturnType<typeof openBackend>> | undefined;
  try {
    const retentionMs = duration('--retention', options.retention);
    const graceMs = duration('--grace', options.grace);
    backend = await openBackend({ cwd: io.cwd, worker: false, env: io.env, report: (line) => (options.json ? undefined : io.err(line)) });
    const { settings, store } = backend.payloads;
    const report = await collectGarbage({
      client: backend.client.workflow,
      store,
      retentionMs: retentionMs ?? settings.retentionMs,
      graceMs: graceMs ?? settings.gcGraceMs,
      dryRun: options.dryRun === true,
    });
    if (options.json) {
      io.out(JSON.stringify({ store: store.location, dryRun: options.dryRun === true, ...report }));
      return 0;
    }
    const verb = options.dryRun ? 'would delete' : 'deleted';
    io.out(`${store.location}: ${report.blobs} blob(s); ${report.referenced} referenced by ${report.runs} open or recently closed run(s), ${report.recent} too recent to judge`);
    io.out(`${verb} ${options.dryRun ? report.addresses.length : report.deleted} blob(s), ${formatBytes(report.deletedBytes)}`);
    return 0;
  } catch (error) {
    return reportUserError(io, error);
  } finally {
    await backend?.close();
  }
}

function duration(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = parseDuration(value);
  if (!parsed.ok) throw new UsageError(`${flag}: got "${value}"; expected ${DURATION_EXPECTED} (or days, "7d")`);
  return parsed.value;
}
