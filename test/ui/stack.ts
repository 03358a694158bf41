/**
 * Everything the Web UI test runs against, all real: its own Temporal dev server WITH the Web UI (the suite's global
 * server is headless), a Capsule worker with a real Sandbox, and Debian's Chromium driven by playwright-core.
 */
import { accessSync, constants, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { findTemporalBinary } from '../../src/client/binary.js';
import { startEmbeddedServer } from '../../src/client/backend.js';
import { startDevServer, type DevServer } from '../../src/client/dev-server.js';
import { openPayloadLayer, type PayloadLayer } from '../../src/payloads/data-converter.js';
import type { Keyring } from '../../src/payloads/keyring.js';
import { resolvePayloadSettings } from '../../src/payloads/settings.js';
import { installRuntime } from '../../src/client/runtime.js';
import { createWorker } from '../../src/client/worker.js';
import { Sandbox } from '../../src/sandbox/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const SCREENSHOTS = fileURLToPath(new URL('../../test-results/ui/', import.meta.url));

/** Debian's package; CI installs it with apt-get. Never a downloaded browser. */
const CHROMIUM = process.env.CAPSULE_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-quic', '--no-first-run',
];

export interface UiStackOptions {
  /**
   * Encrypt payloads with these keys and run the server as `capsule dev`/`capsule run` do (startEmbeddedServer):
   * its Web UI decodes through a codec server in this process.
   */
  keyring?: Keyring;
}

export interface UiStack {
  server: DevServer;
  payloads: PayloadLayer;
  uiUrl: string;
  client: Client;
  taskQueue: string;
  /** A copy of test/ui/fixtures with the state/ and gate/ directories the tasks use. */
  baseDir: string;
  page: Page;
  /** Lets the long "draft" step finish (it waits for gate/open). */
  openGate(): void;
  /** Full-page screenshot into test-results/ui/<name>.png; returns the file. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function startUiStack(options: UiStackOptions = {}): Promise<UiStack> {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's package (apt-get install chromium) or set CAPSULE_CHROMIUM; this test never downloads a browser`);
  }
  installRuntime('ERROR');
  const baseDir = mkdtempSync(path.join(os.tmpdir(), 'capsule-ui-'));
  const payloads = openPayloadLayer({ ...resolvePayloadSettings(baseDir, {}), ...(options.keyring === undefined ? {} : { keyring: options.keyring }) });
  const server = options.keyring === undefined
    ? await startDevServer({ binary: await findTemporalBinary({ offline: true }) })
    : await startEmbeddedServer({ cwd: baseDir, env: process.env, namespace: 'default', payloads, port: 0, uiPort: 0 });
  if (server.uiUrl === undefined) throw new Error('the dev server started without its Web UI');
  const cleanups: (() => Promise<void> | void)[] = [() => payloads.close(), () => server.stop()];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    cpSync(FIXTURES, baseDir, { recursive: true });
    mkdirSync(path.join(baseDir, 'state'));
    mkdirSync(path.join(baseDir, 'gate'));
    const openGate = () => writeFileSync(path.join(baseDir, 'gate', 'open'), '');
    cleanups.push(() => rmSync(baseDir, { recursive: true, force: true }));

    const sandbox = await Sandbox.create({ poolSize: 2 });
    cleanups.push(() => sandbox.close());
    const native = await NativeConnection.connect({ address: server.address });
    cleanups.push(() => native.close());
    const taskQueue = `ui-${process.pid}`;
    const worker = await createWorker({ connection: native, namespace: server.namespace, taskQueue, sandbox, dataConverter: payloads.dataConverter, shutdownGraceTime: '1s' });
    const running = worker.run();
    cleanups.push(async () => {
      openGate(); // a failed assertion must not leave the draft step waiting for its timeout
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });
    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: server.namespace, dataConverter: payloads.dataConverter });

    const context = await launchChromium();
    cleanups.push(() => context.close());
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    mkdirSync(SCREENSHOTS, { recursive: true });
    return {
      server,
      payloads,
      uiUrl: server.uiUrl,
      client,
      taskQueue,
      baseDir,
      page,
      openGate,
      async screenshot(name) {
        const file = path.join(SCREENSHOTS, `${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        return file;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A fresh profile per run (launchPersistentContext owns the user-data-dir), headless, 127.0.0.1 only. */
async function launchChromium(): Promise<BrowserContext> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'capsule-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 },
  });
  // Chromium's helper processes may still be writing the profile as it closes: try again a little later.
  const remove = (tries: number) => {
    try {
      rmSync(profile, { recursive: true, force: true });
    } catch (error) {
      if (tries > 0) setTimeout(() => remove(tries - 1), 200).unref();
      else process.stderr.write(`could not remove the Chromium profile ${profile}: ${String(error)}\n`);
    }
  };
  context.on('close', () => remove(10));
  return context;
}

/** Polls `probe` until it returns a value (not undefined); fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
