/**
 * The exec server's wire format: newline-delimited JSON on a Unix socket (JSON.stringify escapes every newline inside
 * a value, so a message is one line). The client sends one request; the server answers with progress lines (a
 * runtime being built), `accepted` once the run may have started, and one reply. A connection that ends before
 * `accepted` ran nothing, so the client can run the task itself; after it, the run's outcome is unknown.
 */
import type { Socket } from 'node:net';
import path from 'node:path';
import type { Envelope } from '../../sandbox/envelope.js';
import type { ExecReply, ExecRequest } from './exec-task.js';

export const PROTOCOL_VERSION = 1;

export interface ClientMessage {
  version: number;
  request: ExecRequest;
}

export type ServerMessage =
  | { kind: 'progress'; line: string }
  | { kind: 'accepted' }
  | ExecReply
  /** Something went wrong that is not the caller's input. */
  | { kind: 'internal'; message: string };

export function send(socket: Socket, message: ClientMessage | ServerMessage): void {
  socket.write(`${JSON.stringify(message)}\n`);
}

/** Calls `onMessage` with each line received, parsed (or undefined for a line that is not JSON). */
export function onLines(socket: Socket, onMessage: (message: unknown) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      onMessage(parseLine(line));
      newline = buffered.indexOf('\n');
    }
  });
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

/** The request in a client's message, or a description of what is wrong with it. */
export function requestOf(message: unknown): ExecRequest | string {
  if (!isRecord(message)) return 'expected one JSON object';
  if (message.version !== PROTOCOL_VERSION) return `expected protocol version ${PROTOCOL_VERSION}, got ${JSON.stringify(message.version)}`;
  const request = message.request;
  if (!isRecord(request)) return 'expected a request';
  const { file, cwd, task, args, mounts, env } = request;
  if (typeof file !== 'string' || typeof cwd !== 'string' || typeof task !== 'string') return 'expected file, cwd and task as strings';
  if (!path.isAbsolute(cwd)) return 'expected cwd to be an absolute path';
  if (!Array.isArray(args) || !isStringArray(mounts)) return 'expected args and mounts as arrays';
  if (!isRecord(env) || !Object.values(env).every((value) => typeof value === 'string')) return 'expected env as an object of strings';
  return { file, cwd, task, args, mounts, env: env as Record<string, string> };
}

/** A server's message, if it is one. */
export function serverMessageOf(message: unknown): ServerMessage | undefined {
  if (!isRecord(message)) return undefined;
  switch (message.kind) {
    case 'progress':
      return typeof message.line === 'string' ? { kind: 'progress', line: message.line } : undefined;
    case 'accepted':
      return { kind: 'accepted' };
    case 'internal':
      return typeof message.message === 'string' ? { kind: 'internal', message: message.message } : undefined;
    case 'invalid': {
      const envelope = envelopeOf(message.envelope);
      return typeof message.message === 'string' && envelope ? { kind: 'invalid', message: message.message, envelope } : undefined;
    }
    case 'envelope': {
      const envelope = envelopeOf(message.envelope);
      return envelope ? { kind: 'envelope', envelope } : undefined;
    }
    default:
      return undefined;
  }
}

/** The server's own envelope (made by the sandbox, already checked there): only its shape is looked at. */
function envelopeOf(value: unknown): Envelope | undefined {
  return isRecord(value) && typeof value.success === 'boolean' && isRecord(value.execution) ? (value as unknown as Envelope) : undefined;
}
