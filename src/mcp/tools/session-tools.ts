/**
 * `session_files`, `session_read`, `session_write`, `session_reset`: a session's files from outside the sandbox,
 * through the same enforcement as the guest's file calls (confinement, no links, the quota), one call of a session
 * at a time with its runs.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { formatBytes } from '../../config/units.js';
import { DirectoryAccessError } from '../../sandbox/index.js';
import type { McpContext } from '../context.js';
import { ToolError } from '../errors.js';
import { errorResult, okResult } from '../results.js';
import { sessionIdSchema, type OpenSession } from '../sessions.js';

/** One session_write carries at most this much (its request must fit the transports' limit, base64 included). */
const MAX_WRITE_CHARS = 8 * 1024 * 1024;
const MEMORY_NOTE = 'Only files persist in a session: every run starts with fresh memory.';
const filePath = z.string().min(1).max(4096).describe('A path relative to the session\'s workspace, such as "notes/result.json" (code sees it as ./workspace/notes/result.json).');

export function registerSessionTools(server: McpServer, context: McpContext): void {
  const { sessions, settings } = context;
  const quota = formatBytes(settings.sessions.quotaBytes);
  const guarded = async (action: () => Promise<CallToolResult> | CallToolResult): Promise<CallToolResult> => {
    try {
      return await action();
    } catch (error) {
      if (error instanceof ToolError) return errorResult(error.errorType, error.message);
      if (error instanceof DirectoryAccessError) return errorResult(error.code === 'EACCES' || error.code === 'ENOSPC' ? 'permission_denied' : 'invalid_task', error.message);
      throw error;
    }
  };
  const withAccess = <T>(id: string, create: boolean, action: (session: OpenSession, access: ReturnType<OpenSession['open']>) => T, missing: () => T) =>
    sessions.use(id, create, (session) => {
      if (session === undefined) return missing();
      const access = session.open(settings.sessions.quotaBytes);
      try {
        return action(session, access);
      } finally {
        access.close();
      }
    });

  server.registerTool(
    'session_files',
    {
      title: 'List a session\'s files',
      description: `Lists the files in a session's workspace (what code sees under ./workspace/), with sizes, and how much of the session's quota (${quota}) they use. ${MEMORY_NOTE}`,
      inputSchema: { session: sessionIdSchema },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ session }) => guarded(() => withAccess(session, false, (open, access) => {
      const { entries, truncated } = access.list();
      const used = open.quota.used;
      const text = entries.length === 0 ? `session "${session}" is empty` : entries.map((e) => (e.type === 'file' ? `${e.path} (${formatBytes(e.size)})` : `${e.path}/`)).join('\n');
      return okResult({ session, exists: true, files: entries, truncated, used_bytes: used.bytes, quota_bytes: settings.sessions.quotaBytes }, `${text}\n(${formatBytes(used.bytes)} of ${quota} used)`);
    }, () => okResult({ session, exists: false, files: [], truncated: false, used_bytes: 0, quota_bytes: settings.sessions.quotaBytes }, `session "${session}" has no files yet (a session starts with the first call that names it)`))),
  );

  server.registerTool(
    'session_read',
    {
      title: 'Read a file of a session',
      description: `Reads a file from a session's workspace. Text comes back as UTF-8; a file that is not valid UTF-8 (or with encoding "base64") comes back base64-encoded. At most ${formatBytes(settings.maxOutputBytes)} per call: read larger files in parts with offset and length.`,
      inputSchema: {
        session: sessionIdSchema,
        path: filePath,
        encoding: z.enum(['utf8', 'base64']).optional().describe('"utf8" (default) or "base64".'),
        offset: z.number().int().min(0).optional().describe('First byte to read (default 0).'),
        length: z.number().int().min(1).optional().describe(`Bytes to read (default and maximum ${settings.maxOutputBytes}).`),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ session, path, encoding, offset = 0, length }) => guarded(() => withAccess(session, false, (_open, access) => {
      const whole = access.read(path);
      const end = Math.min(whole.length, offset + Math.min(length ?? settings.maxOutputBytes, settings.maxOutputBytes));
      const part = whole.subarray(Math.min(offset, whole.length), end);
      const text = encoding === 'base64' ? undefined : utf8(part);
      const content = text ?? part.toString('base64');
      const complete = offset === 0 && end === whole.length;
      const note = complete ? '' : `\n(bytes ${offset}-${end} of ${whole.length}; read on with offset ${end})`;
      return okResult({ session, path, size: whole.length, offset, length: part.length, encoding: text === undefined ? 'base64' : 'utf8', content, complete }, `${content}${note}`);
    }, () => errorResult('invalid_task', `session "${session}" has no files yet`))),
  );

  server.registerTool(
    'session_write',
    {
      title: 'Write a file into a session',
      description: `Writes (or replaces) a file in a session's workspace, creating the session and any directories on the way; code sees it at ./workspace/<path>. The session may hold at most ${quota}. ${MEMORY_NOTE}`,
      inputSchema: {
        session: sessionIdSchema,
        path: filePath,
        content: z.string().max(MAX_WRITE_CHARS, `at most ${MAX_WRITE_CHARS} characters per call`).describe('The file\'s content: text, or base64 with encoding "base64".'),
        encoding: z.enum(['utf8', 'base64']).optional().describe('"utf8" (default) or "base64".'),
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    ({ session, path, content, encoding }) => guarded(() => withAccess(session, true, (open, access) => {
      const data = Buffer.from(content, encoding === 'base64' ? 'base64' : 'utf8');
      access.write(path, data);
      return okResult({ session, path, size: data.length, used_bytes: open.quota.used.bytes, quota_bytes: settings.sessions.quotaBytes }, `wrote ${path} (${formatBytes(data.length)}) in session "${session}"`);
    }, () => errorResult('internal_error', 'the session could not be created'))),
  );

  server.registerTool(
    'session_reset',
    {
      title: 'Delete a session',
      description: 'Deletes every file of a session and the session itself; its id can be used again from scratch.',
      inputSchema: { session: sessionIdSchema },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    ({ session }) => guarded(async () => {
      const existed = await sessions.reset(session);
      return okResult({ session, reset: existed }, existed ? `session "${session}" deleted` : `session "${session}" did not exist`);
    }),
  );
}

/** The text, when the bytes are valid UTF-8 (a part may cut a character: then base64 too). */
function utf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
