/**
 * A small deterministic OpenAI-compatible server for tests and demos: POST /v1/chat/completions on 127.0.0.1 only.
 * Its replies depend on the request alone, so a pipeline run against it is repeatable:
 *
 *   model "coder"        JSON {"code": ...}: a Python (or, when the system message says javascript, a JavaScript)
 *                        main(input) returning the sum of squares 1..input.n. A prompt containing "[buggy]" gets
 *                        code that raises on the first round; once the prompt carries "Error:" (the error fed
 *                        back), the working code.
 *   model "echo"         the prompt as text.
 *   model "not-json"     text that is not JSON.
 *   model "rate-limited" 429 with Retry-After: 1 the first time a prompt is seen, then like "echo".
 *   model "flaky"        500 the first time a prompt is seen, then like "echo".
 *   model "rejected"     400 always.
 *
 * Every request is recorded (with its Authorization header) for tests. Run it alone with
 * `node --import tsx examples/coding-agent/mock-llm.ts [port]` and point OPENAI_BASE_URL at the URL it prints.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

export interface RecordedRequest {
  model: string;
  authorization: string | undefined;
  messages: { role: string; content: string }[];
  status: number;
}

export interface MockLlm {
  /** The base URL to give OPENAI_BASE_URL, e.g. http://127.0.0.1:PORT/v1. */
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const WORKING_PYTHON = 'def main(input):\n    n = input["n"]\n    return {"sum_of_squares": sum(i * i for i in range(1, n + 1))}\n';
const BUGGY_PYTHON = 'def main(input):\n    n = input["count"]\n    return {"sum_of_squares": n}\n';
const WORKING_JAVASCRIPT = 'function main(input) {\n  let total = 0;\n  for (let i = 1; i <= input.n; i++) total += i * i;\n  return { sum_of_squares: total };\n}\n';
const BUGGY_JAVASCRIPT = 'function main(input) {\n  return { sum_of_squares: input.count.length };\n}\n';

export async function startMockLlm(port = 0): Promise<MockLlm> {
  const requests: RecordedRequest[] = [];
  const seen = new Set<string>();
  const server: Server = createServer((req, res) => {
    void handle(req, res, requests, seen).catch((error: unknown) => reply(res, 500, { error: { message: String(error) } }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/v1`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, requests: RecordedRequest[], seen: Set<string>): Promise<void> {
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return reply(res, 404, { error: { message: `no route ${req.method} ${req.url}` } });
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; messages: { role: string; content: string }[] };
  const prompt = body.messages.filter((m) => m.role === 'user').map((m) => m.content).join('\n');
  const system = body.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n');
  const record = (status: number) => requests.push({ model: body.model, authorization: req.headers.authorization, messages: body.messages, status });
  const first = !seen.has(`${body.model}\n${prompt}`);
  seen.add(`${body.model}\n${prompt}`);
  if (body.model === 'rejected') {
    record(400);
    return reply(res, 400, { error: { message: 'this model rejects every request', type: 'invalid_request_error' } });
  }
  if (body.model === 'rate-limited' && first) {
    record(429);
    return reply(res, 429, { error: { message: 'rate limited, retry after 1 s', type: 'rate_limit_error' } }, { 'retry-after': '1' });
  }
  if (body.model === 'flaky' && first) {
    record(500);
    return reply(res, 500, { error: { message: 'the server fell over', type: 'server_error' } });
  }
  let content: string;
  if (body.model === 'coder') {
    const javascript = /javascript/i.test(system);
    const buggy = prompt.includes('[buggy]') && !prompt.includes('Error:');
    content = JSON.stringify({ code: javascript ? (buggy ? BUGGY_JAVASCRIPT : WORKING_JAVASCRIPT) : buggy ? BUGGY_PYTHON : WORKING_PYTHON });
  } else if (body.model === 'not-json') {
    content = 'Sure! Here is the code you asked for.';
  } else {
    content = prompt;
  }
  record(200);
  const tokens = (text: string) => text.split(/\s+/).filter(Boolean).length;
  const promptTokens = tokens(system) + tokens(prompt);
  reply(res, 200, {
    id: `chatcmpl-${requests.length}`,
    object: 'chat.completion',
    created: 1_700_000_000,
    model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: promptTokens, completion_tokens: tokens(content), total_tokens: promptTokens + tokens(content) },
  });
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const mock = await startMockLlm(Number(process.argv[2] ?? 0));
  process.stdout.write(`mock OpenAI-compatible server: ${mock.url}\nexport OPENAI_BASE_URL=${mock.url} OPENAI_API_KEY=mock-key\n`);
}
