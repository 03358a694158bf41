/**
 * Fits an envelope into a byte budget (Temporal refuses payloads over 2 MB, and warns from 512 KB). Captured
 * output is the part that can honestly shrink: its middle is cut, head and tail kept, and `truncated` set. Request
 * and denial lists keep their first entries. A result that alone is over the budget cannot be cut without changing
 * what the task returned: the caller must refuse it.
 */
import type { Envelope } from './envelope.js';

const LIST_KEEP = 100;

export type Fitted<E extends Envelope> = { ok: true; envelope: E } | { ok: false; resultBytes: number };

const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

function cutMiddle(text: string, keepBytes: number): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= keepBytes) return text;
  const half = Math.max(0, Math.floor(keepBytes / 2) - 64);
  const cut = bytes.length - 2 * half;
  // Decoding may split a multi-byte character at either cut: the replacement character marks it, nothing breaks.
  return `${bytes.subarray(0, half).toString()}\n… [${cut} bytes of output cut to fit the envelope] …\n${bytes.subarray(bytes.length - half).toString()}`;
}

export function fitEnvelope<E extends Envelope>(envelope: E, maxBytes: number): Fitted<E> {
  if (size(envelope) <= maxBytes) return { ok: true, envelope };
  const resultBytes = size(envelope.result ?? null);
  const x = envelope.execution;
  const lists = {
    host_requests: x.host_requests.slice(0, LIST_KEEP),
    denials: x.denials.slice(0, LIST_KEEP),
  };
  const skeleton = { ...envelope, execution: { ...x, ...lists, stdout: '', stderr: '', truncated: true } };
  let room = maxBytes - size(skeleton) - 1024;
  const outBytes = Buffer.byteLength(x.stdout);
  const errBytes = Buffer.byteLength(x.stderr);
  // JSON escapes (newlines, quotes) make the encoded text longer than its bytes: shrink until it really fits.
  for (let tries = 0; tries < 4 && room >= 0; tries++) {
    // The smaller stream keeps up to half the room (a quiet stderr keeps every line); the other gets the rest.
    const stdoutRoom = outBytes <= errBytes ? Math.min(outBytes, Math.floor(room / 2)) : room - Math.min(errBytes, Math.floor(room / 2));
    const fitted = { ...skeleton, execution: { ...skeleton.execution, stdout: cutMiddle(x.stdout, stdoutRoom), stderr: cutMiddle(x.stderr, room - stdoutRoom) } };
    const over = size(fitted) - maxBytes;
    if (over <= 0) return { ok: true, envelope: fitted };
    room -= over + 1024;
  }
  return { ok: false, resultBytes };
}
