/**
 * A call's `limits` within the server's ceilings. A limit the call leaves out is the ceiling; one it gives may be
 * less, never more: a call that asks for more than a ceiling is refused (permission_denied, naming each limit, what
 * was asked and what the server allows), not clamped, so code never runs with less than its caller believes it has.
 *
 * What the guest sees of the host: the server's directory (when it was started with --root) read-only at `files/`,
 * or the directories of it the call lists; never Capsule's own state in it (`.capsule/`).
 */
import { z } from 'zod';
import { coversPattern, formatPattern, parseHostPattern } from '../config/host-pattern.js';
import { checkGrantedDirectory } from '../config/task-options.js';
import { COMPUTE_EXPECTED, DURATION_EXPECTED, formatBytes, formatCount, formatDuration, parseBytes, parseCompute, parseDuration, RAM_EXPECTED, type Parsed } from '../config/units.js';
import type { ErrorType, ProgramOptions } from '../sandbox/index.js';
import { CAPSULE_STATE_DIR } from './sessions.js';
import type { Ceilings } from './settings.js';

/** Where the guest sees the server's directory. */
export const FILES_GUEST_PATH = 'files';

export const callLimitsShape = {
  compute: z.union([z.string(), z.number()]).optional()
    .describe('Fuel (instructions): "LOW" (1e8), "MEDIUM" (2e9), "HIGH" (5e10) or a number. Default and maximum: the server\'s ceiling.'),
  ram: z.union([z.string(), z.number()]).optional().describe('Memory cap, such as "64MB", or bytes. Default and maximum: the server\'s ceiling.'),
  timeout: z.union([z.string(), z.number()]).optional().describe('Wall-clock limit, such as "5s", or milliseconds. Default and maximum: the server\'s ceiling.'),
  allowedHosts: z.array(z.string()).optional()
    .describe('Hosts the code may reach over HTTP(S), such as ["api.example.com"]. Default: every host the server allows (often none); only those may be listed.'),
  files: z.array(z.string()).optional()
    .describe('Directories of the server\'s root the code may read, relative to it (such as ["data"]); they appear under ./files/. Default: the whole root when the server has one, else nothing.'),
};
export const callLimitsSchema = z.strictObject(callLimitsShape);
export type CallLimits = z.infer<typeof callLimitsSchema>;

export interface CallPlan {
  options: ProgramOptions;
  /** Mounts of the server's directory (`HOST::GUEST:ro`), relative to it. */
  mounts: string[];
}

export type Planned = { ok: true; plan: CallPlan } | { ok: false; errorType: ErrorType; message: string };

/** The options and mounts a call runs with, or why it may not run. `directory` is the server's. */
export function planCall(limits: CallLimits | undefined, ceilings: Ceilings, directory: string): Planned {
  const invalid: string[] = [];
  const refused: string[] = [];
  const number = (name: string, given: unknown, ceiling: number, parse: (v: unknown) => Parsed, expected: string, show: (n: number) => string, flag: string): number => {
    if (given === undefined) return ceiling;
    const parsed = parse(given);
    if (!parsed.ok) {
      invalid.push(`limits.${name}: got ${JSON.stringify(given)}; expected ${expected}`);
      return ceiling;
    }
    if (parsed.value > ceiling) refused.push(`limits.${name}: asked for ${show(parsed.value)}, more than this server allows (${show(ceiling)}, ${flag})`);
    return parsed.value;
  };
  const compute = number('compute', limits?.compute, ceilings.compute, parseCompute, COMPUTE_EXPECTED, (n) => `${formatCount(n)} fuel`, '--max-compute');
  const ram = number('ram', limits?.ram, ceilings.ram, parseBytes, RAM_EXPECTED, formatBytes, '--max-ram');
  const timeout = number('timeout', limits?.timeout, ceilings.timeout, parseDuration, DURATION_EXPECTED, formatDuration, '--max-timeout');
  const allowedHosts = planHosts(limits?.allowedHosts, ceilings.allowedHosts, invalid, refused);
  const mounts = planFiles(limits?.files, ceilings.files, directory, invalid, refused);
  if (invalid.length > 0) return { ok: false, errorType: 'invalid_task', message: invalid.join('; ') };
  if (refused.length > 0) return { ok: false, errorType: 'permission_denied', message: refused.join('; ') };
  return { ok: true, plan: { options: { compute, ram, timeout, allowedHosts }, mounts } };
}

function planHosts(given: string[] | undefined, ceiling: string[], invalid: string[], refused: string[]): string[] {
  if (given === undefined) return ceiling;
  const allowed = ceiling.map((text) => parseHostPattern(text)).flatMap((p) => (p.ok ? [p.value] : []));
  const hosts: string[] = [];
  for (const text of given) {
    const parsed = parseHostPattern(text);
    if (!parsed.ok) {
      invalid.push(`limits.allowedHosts: got ${JSON.stringify(text)}; expected ${parsed.expected}`);
    } else if (!allowed.some((outer) => coversPattern(outer, parsed.value))) {
      refused.push(`limits.allowedHosts: "${text}" is not a host this server allows (${ceiling.length === 0 ? 'it allows none; its operator adds hosts with --allow-host' : ceiling.join(', ')})`);
    } else {
      hosts.push(formatPattern(parsed.value));
    }
  }
  return [...new Set(hosts)];
}

function planFiles(given: string[] | undefined, readable: boolean, directory: string, invalid: string[], refused: string[]): string[] {
  const paths = given ?? (readable ? ['.'] : []);
  if (paths.length > 0 && !readable) {
    refused.push('limits.files: this server gives code no host files (its operator starts it with --root DIR to share a directory); write files in a session\'s workspace instead');
    return [];
  }
  const mounts: string[] = [];
  for (const raw of paths) {
    // A mount spec separates its parts with "::" and ends with ":ro"/":rw": such names cannot be mounted unambiguously.
    if (raw.includes('::') || /:(ro|rw)$/.test(raw)) {
      invalid.push(`limits.files: "${raw}" cannot be shared (a directory name with "::" or ending in ":ro"/":rw")`);
      continue;
    }
    const checked = checkGrantedDirectory(raw, directory);
    if (!checked.ok) {
      invalid.push(`limits.files: ${checked.problem}`);
      continue;
    }
    const hostPath = checked.path;
    if (hostPath === CAPSULE_STATE_DIR || hostPath.startsWith(`${CAPSULE_STATE_DIR}/`)) {
      refused.push(`limits.files: "${raw}" is Capsule's own state, which code never reads`);
      continue;
    }
    mounts.push(`${hostPath}::${hostPath === '.' ? FILES_GUEST_PATH : `${FILES_GUEST_PATH}/${hostPath}`}:ro`);
  }
  return [...new Set(mounts)];
}
