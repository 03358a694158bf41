/**
 * What a `capsule mcp` server allows, decided by its operator: ceilings on every call (compute, memory, time, hosts,
 * the files of `--root`), session limits, how much a call returns, and where it listens. Each setting comes from its
 * flag, else from capsule.toml `[mcp]`, else a default that grants nothing: LOW compute, 256MB, 10 s, no network,
 * no host files. Bad values are McpSettingsErrors naming the flag or the key.
 *
 * The server's directory is `--root` when given (its files are then readable by code, at `files/`), else the working
 * directory (nothing of it readable). Either way it is a project directory as for `capsule run`: its capsule.toml is
 * read, its `.capsule/` holds the sessions (and the embedded Temporal server's data), its pipelines can be run.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadCapsuleConfig, type McpFileConfig } from '../config/capsule-toml.js';
import { formatPattern, parseHostAndPort, parseHostPattern } from '../config/host-pattern.js';
import type { ResolvedTaskOptions } from '../config/task-options.js';
import { McpSettingsError } from './errors.js';
import { COMPUTE_EXPECTED, DURATION_EXPECTED, parseBytes, parseCompute, parseDuration, RAM_EXPECTED, type Parsed } from '../config/units.js';

/** What one call may use at most, in the task options' words and base units; a call that asks for more is refused (limits.ts). */
export interface Ceilings extends Pick<ResolvedTaskOptions, 'compute' | 'ram' | 'timeout' | 'allowedHosts'> {
  /** Whether code may read the server's directory (`--root` was given). */
  files: boolean;
}

export interface McpSettings {
  /** Absolute: `--root`, else the working directory. */
  directory: string;
  ceilings: Ceilings;
  /** Cap on each of stdout, stderr and the result one call returns, and on one session_read. */
  maxOutputBytes: number;
  sessions: { quotaBytes: number; maxEntries: number; maxSessions: number };
  /** Streamable HTTP on this loopback address; absent: stdio. */
  http?: { host: string; port: number };
}

/** What the command line gives (all optional; strings as typed). */
export interface McpFlags {
  root?: string;
  maxCompute?: string;
  maxRam?: string;
  maxTimeout?: string;
  allowHost?: string[];
  maxOutput?: string;
  sessionQuota?: string;
  maxSessions?: string;
  http?: string;
}

export const MCP_DEFAULTS = {
  maxCompute: 'LOW',
  maxRam: '256MB',
  maxTimeout: '10s',
  maxOutput: '256KB',
  sessionQuota: '100MB',
  maxSessions: 100,
  /** Files and directories one session may hold. */
  sessionEntries: 10_000,
} as const;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function resolveMcpSettings(flags: McpFlags, cwd: string): McpSettings {
  const directory = flags.root === undefined ? cwd : path.resolve(cwd, flags.root);
  if (!existsSync(directory) || !statSync(directory).isDirectory()) throw new McpSettingsError(`--root: "${flags.root}" is not a directory`);
  const file = loadCapsuleConfig(directory).mcp;
  const pick = <K extends keyof McpFileConfig>(flag: string | undefined, key: K): { value: unknown; source: string } | undefined => {
    if (flag !== undefined) return { value: flag, source: `--${kebab(key)}` };
    if (file[key] !== undefined) return { value: file[key], source: `capsule.toml [mcp] ${key}` };
    return undefined;
  };
  const unit = (given: { value: unknown; source: string } | undefined, fallback: string | number, parse: (v: unknown) => Parsed, expected: string): number => {
    const parsed = parse(given?.value ?? fallback);
    if (parsed.ok) return parsed.value;
    throw new McpSettingsError(`${given?.source}: got ${JSON.stringify(given?.value)}; expected ${expected}`);
  };
  const hosts = (flags.allowHost ?? file.allow_hosts ?? []).map((host) => {
    const parsed = parseHostPattern(host);
    if (!parsed.ok) throw new McpSettingsError(`${flags.allowHost ? '--allow-host' : 'capsule.toml [mcp] allow_hosts'}: got "${host}"; expected ${parsed.expected}`);
    return formatPattern(parsed.value);
  });
  const maxSessions = unit(pick(flags.maxSessions, 'max_sessions'), MCP_DEFAULTS.maxSessions, positiveInteger, 'a positive integer');
  return {
    directory,
    ceilings: {
      compute: unit(pick(flags.maxCompute, 'max_compute'), MCP_DEFAULTS.maxCompute, parseCompute, COMPUTE_EXPECTED),
      ram: unit(pick(flags.maxRam, 'max_ram'), MCP_DEFAULTS.maxRam, parseBytes, RAM_EXPECTED),
      timeout: unit(pick(flags.maxTimeout, 'max_timeout'), MCP_DEFAULTS.maxTimeout, parseDuration, DURATION_EXPECTED),
      allowedHosts: [...new Set(hosts)],
      files: flags.root !== undefined,
    },
    maxOutputBytes: unit(pick(flags.maxOutput, 'max_output'), MCP_DEFAULTS.maxOutput, parseBytes, RAM_EXPECTED),
    sessions: {
      quotaBytes: unit(pick(flags.sessionQuota, 'session_quota'), MCP_DEFAULTS.sessionQuota, parseBytes, RAM_EXPECTED),
      maxEntries: MCP_DEFAULTS.sessionEntries,
      maxSessions,
    },
    ...(flags.http === undefined ? {} : { http: parseListenAddress(flags.http) }),
  };
}

/**
 * `--http [HOST:]PORT`: loopback only. Anyone who can reach the port can run code and read and write every session,
 * and the transport has no authentication of its own, so another address is refused: expose it through a proxy that
 * authenticates, listening on loopback.
 */
export function parseListenAddress(text: string): { host: string; port: number } {
  const trimmed = text.trim();
  const parsed = parseHostAndPort(/^\d+$/.test(trimmed) ? `127.0.0.1:${trimmed}` : trimmed);
  if (!parsed.ok) throw new McpSettingsError(`--http: got "${text}"; expected HOST:PORT such as 127.0.0.1:8765 (PORT 0 picks a free one)`);
  const { host, port } = parsed.value;
  if (!LOOPBACK.has(host)) {
    throw new McpSettingsError(
      `--http: "${host}" is not a loopback address. capsule mcp listens on 127.0.0.1, localhost or [::1] only: whoever reaches the port can run code ` +
        'and use every session, and Streamable HTTP has no authentication of its own. To serve other machines, put an authenticating reverse proxy in front of a loopback address.',
    );
  }
  return { host: host === '[::1]' ? '::1' : host, port };
}

function positiveInteger(value: unknown): Parsed {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? { ok: true, value: n } : { ok: false, expected: 'a positive integer' };
}

function kebab(key: string): string {
  return key.replaceAll('_', '-');
}
