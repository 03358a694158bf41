/**
 * With encryption on, the server stores ciphertext, yet the Web UI of the embedded dev server (started as `capsule
 * dev` starts it, with a codec server in the same process) shows the plaintext: proven in Debian's Chromium.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { preparePipeline, startPipeline } from '../../src/client/submit.js';
import { parseKeyring } from '../../src/payloads/keyring.js';
import { Sandbox } from '../../src/sandbox/index.js';
import { startUiStack, type UiStack } from './stack.js';

const MARKER = 'plaintext-only-in-the-browser';
let stack: UiStack;
beforeAll(async () => {
  stack = await startUiStack({ keyring: parseKeyring(`ui-key:${randomBytes(32).toString('base64')}`) });
});
afterAll(async () => {
  await stack?.close();
});

it('shows decrypted input and result in the Web UI, while the server holds ciphertext', async () => {
  writeFileSync(path.join(stack.baseDir, 'echo.ts'), [
    "import { task } from 'capsule';",
    "export const main = task({ name: 'main' }, (input: { word: string }) => ({ echoed: `${input.word} came back` }));",
  ].join('\n'));
  writeFileSync(path.join(stack.baseDir, 'codec.json'), JSON.stringify({ name: 'codec', input: { word: MARKER }, steps: [{ id: 'echo', task: './echo.ts', input: { word: '{{ input.word }}' } }] }));
  const describer = await Sandbox.create({ poolSize: 1 });
  let workflowId: string;
  let runId: string;
  try {
    const input = await preparePipeline({ file: path.join(stack.baseDir, 'codec.json'), cwd: stack.baseDir, describer });
    const handle = await startPipeline(stack.client, input, { taskQueue: stack.taskQueue });
    workflowId = handle.workflowId;
    runId = (await handle.describe()).runId;
    expect(await handle.result()).toMatchObject({ status: 'succeeded', output: { echoed: `${MARKER} came back` } });
  } finally {
    await describer.close();
  }

  // The server's copy: no plaintext anywhere in the history.
  const connection = await Connection.connect({ address: stack.server.address });
  try {
    const raw = await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory();
    expect(JSON.stringify(raw)).not.toContain(MARKER);
    expect(Buffer.from(JSON.stringify(raw.events?.[0]?.workflowExecutionStartedEventAttributes?.input)).includes(MARKER)).toBe(false);
  } finally {
    await connection.close();
  }

  // The browser's view, decoded by the codec server.
  const { page } = stack;
  await page.goto(`${stack.uiUrl}/namespaces/default/workflows/${workflowId}/${runId}/history`);
  const result = page.getByText(`${MARKER} came back`).first();
  await result.waitFor({ state: 'visible' });
  await page.getByText(MARKER).first().waitFor({ state: 'visible' });
  await stack.screenshot('codec-decoded-result');
});
