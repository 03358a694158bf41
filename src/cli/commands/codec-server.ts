/**
 * `capsule codec-server`: Temporal's remote codec endpoint (POST /decode, /encode) with Capsule's codecs, so a
 * Temporal Web UI (or `temporal --codec-endpoint`) shows payloads decompressed and decrypted. Give it the same
 * CAPSULE_PAYLOAD_KEY as the workers, and point the UI at it (TEMPORAL_CODEC_ENDPOINT for the UI server, or the
 * UI's "Codec Server" setting). Anyone who can reach it can decrypt: keep it on loopback or behind your own auth.
 */
import { resolveConnectionConfig } from '../../client/config.js';
import { interruptFor, processIo, type CommandIo } from '../io.js';
import { reportUserError } from '../exit-codes.js';
import { startCodecServer } from '../../payloads/codec-server.js';
import { openPayloadLayer } from '../../payloads/data-converter.js';
import { resolvePayloadSettings } from '../../payloads/settings.js';

export const DEFAULT_CODEC_PORT = 8234;

export interface CodecServerCommandOptions {
  port?: number;
  host?: string;
  /** Browser origins allowed to call it (the Web UI's); default: the configured ui_url, else the dev server UI's. */
  uiOrigins?: string[];
  io?: CommandIo;
  /** Resolves when the server is listening (tests). */
  onListening?: (url: string) => void;
}

export async function codecServer(options: CodecServerCommandOptions): Promise<number> {
  const io = options.io ?? processIo();
  const interrupt = interruptFor(io);
  try {
    const config = resolveConnectionConfig(io.cwd, io.env);
    const payloads = openPayloadLayer(resolvePayloadSettings(io.cwd, io.env));
    const origins = options.uiOrigins?.length ? options.uiOrigins : config.uiUrl !== undefined ? [config.uiUrl] : ['http://127.0.0.1:8233', 'http://localhost:8233'];
    try {
      const server = await startCodecServer({ codecs: payloads.codecs, host: options.host ?? '127.0.0.1', port: options.port ?? DEFAULT_CODEC_PORT, origins });
      const key = payloads.settings.keyring === undefined ? 'no encryption key (decompression only)' : `encryption key "${payloads.settings.keyring.activeId}" active, ${payloads.settings.keyring.keys.size} key(s) in all`;
      io.out(`codec server at ${server.url} for ${origins.join(', ')} (${key}); Ctrl-C stops`);
      options.onListening?.(server.url);
      await interrupt.promise;
      await server.close();
      return 0;
    } finally {
      await payloads.close();
    }
  } catch (error) {
    return reportUserError(io, error);
  } finally {
    interrupt.dispose();
  }
}
