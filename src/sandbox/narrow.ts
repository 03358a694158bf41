/**
 * Sub-tasks only narrow. A task called from inside another runs with its own declaration cut down to what its
 * caller has, option by option: at most the caller's fuel, memory and time, files (as host directories, with the
 * narrower mode), hosts and environment variables. Whatever the child's declaration says, calling a task never
 * gains a capability or a budget. Each cut is listed in the child's envelope (`execution.narrowed`), so the record
 * says what the child asked for and what it got.
 *
 * One narrower per option: a new capability (secrets, say) narrows by adding its entry to NARROWERS.
 */
import type { AllowedFile, ResolvedTaskOptions } from '../config/task-options.js';
import type { NarrowedOption } from './envelope.js';
import { narrower, within } from './policy/file-policy.js';

type Narrowable = Exclude<keyof ResolvedTaskOptions, 'name' | 'maxRetries'>;
type Narrower<K extends Narrowable> = (declared: ResolvedTaskOptions[K], caller: ResolvedTaskOptions[K]) => ResolvedTaskOptions[K];

/** How each option is named in the record: the task-option names authors write. */
const RECORDED_AS: Record<Narrowable, string> = {
  fuel: 'compute',
  ramBytes: 'ram',
  timeoutMs: 'timeout',
  allowedFiles: 'allowedFiles',
  allowedHosts: 'allowedHosts',
  envVariables: 'envVariables',
};

const NARROWERS: { [K in Narrowable]: Narrower<K> } = {
  fuel: Math.min,
  ramBytes: Math.min,
  timeoutMs: Math.min,
  allowedFiles: narrowFiles,
  allowedHosts: narrowHosts,
  envVariables: (declared, caller) => declared.filter((name) => caller.includes(name)),
};

export function narrowToCaller(declared: ResolvedTaskOptions, caller: ResolvedTaskOptions): { options: ResolvedTaskOptions; narrowed: NarrowedOption[] } {
  const options = { ...declared };
  const narrowed: NarrowedOption[] = [];
  for (const key of Object.keys(NARROWERS) as Narrowable[]) {
    const granted = (NARROWERS[key] as Narrower<typeof key>)(declared[key], caller[key]);
    if (JSON.stringify(granted) !== JSON.stringify(declared[key])) {
      narrowed.push({ option: RECORDED_AS[key], declared: recorded(declared[key]), granted: recorded(granted) });
    }
    (options as Record<Narrowable, unknown>)[key] = granted;
  }
  return { options, narrowed };
}

/** Files are recorded as the guest sees them: guest path and mode, never a host directory. */
function recorded(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return value.map((item: unknown) => (typeof item === 'object' && item !== null && 'mode' in item ? { path: (item as AllowedFile).path, mode: (item as AllowedFile).mode } : item));
}

const hostOf = (file: AllowedFile) => file.hostPath ?? file.path;

/**
 * The host directories both the child and its caller may use, under the child's guest names, with the narrower
 * mode. A child directory inside a caller's keeps its own path; a caller's directory inside the child's is what the
 * child gets of it.
 */
function narrowFiles(declared: AllowedFile[], caller: AllowedFile[]): AllowedFile[] {
  const granted: AllowedFile[] = [];
  const add = (file: AllowedFile) => {
    if (!granted.some((g) => g.path === file.path)) granted.push(file);
  };
  for (const file of declared) {
    const host = hostOf(file);
    const covering = caller.filter((c) => within(host, hostOf(c)));
    if (covering.length > 0) {
      add({ ...file, mode: covering.reduce((mode, c) => narrower(mode, c.mode), file.mode) });
      continue;
    }
    for (const inner of caller.filter((c) => within(hostOf(c), host))) {
      const below = host === '.' ? hostOf(inner) : hostOf(inner).slice(host.length + 1);
      const guest = file.path === '.' ? below : `${file.path}/${below}`;
      add({ path: guest, mode: narrower(file.mode, inner.mode), ...(guest === hostOf(inner) ? {} : { hostPath: hostOf(inner) }) });
    }
  }
  return granted;
}

interface HostPattern {
  wildcard: boolean;
  host: string;
  port: string | undefined;
}

/** "*.example.org", "api.example.com:8443", "[::1]:8080": wildcard, host, port. */
function parseHostPattern(pattern: string): HostPattern {
  const lower = pattern.toLowerCase();
  const wildcard = lower.startsWith('*.');
  const body = wildcard ? lower.slice(2) : lower;
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(body);
  return { wildcard, host: match?.[1] ?? body, port: match?.[2] };
}

function formatHostPattern(p: HostPattern): string {
  return `${p.wildcard ? '*.' : ''}${p.host}${p.port === undefined ? '' : `:${p.port}`}`;
}

/** Hosts matched by both patterns, as one pattern, or undefined when none are. */
function intersectHosts(a: HostPattern, b: HostPattern): HostPattern | undefined {
  if (a.port !== undefined && b.port !== undefined && a.port !== b.port) return undefined;
  const port = a.port ?? b.port;
  const under = (name: string, wild: HostPattern) => name.endsWith(`.${wild.host}`);
  if (!a.wildcard && !b.wildcard) return a.host === b.host ? { wildcard: false, host: a.host, port } : undefined;
  if (!a.wildcard) return under(a.host, b) ? { wildcard: false, host: a.host, port } : undefined;
  if (!b.wildcard) return under(b.host, a) ? { wildcard: false, host: b.host, port } : undefined;
  if (a.host === b.host || under(a.host, b)) return { wildcard: true, host: a.host, port };
  return under(b.host, a) ? { wildcard: true, host: b.host, port } : undefined;
}

function narrowHosts(declared: string[], caller: string[]): string[] {
  const granted = new Set<string>();
  const callers = caller.map(parseHostPattern);
  for (const pattern of declared.map(parseHostPattern)) {
    for (const other of callers) {
      const both = intersectHosts(pattern, other);
      if (both) granted.add(formatHostPattern(both));
    }
  }
  return [...granted];
}
