/** Where llm steps call (config/llm.ts): OPENAI_* under capsule.toml [llm], checked like every other section. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCapsuleConfig } from '../../src/config/capsule-toml.js';
import { llmSettings, workerLlmSettings } from '../../src/config/llm.js';

const dirWith = (toml: string) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-llm-'));
  writeFileSync(path.join(dir, 'capsule.toml'), toml);
  return dir;
};

describe('llm settings', () => {
  it('follow the client\'s variables, with capsule.toml [llm] over them', () => {
    expect(llmSettings({ OPENAI_BASE_URL: 'http://127.0.0.1:1/v1', OPENAI_API_KEY: 'k1' }, {})).toEqual({ baseURL: 'http://127.0.0.1:1/v1', apiKey: 'k1', keyVariable: 'OPENAI_API_KEY' });
    expect(llmSettings({}, {})).toEqual({ baseURL: undefined, apiKey: undefined, keyVariable: 'OPENAI_API_KEY' });
    const dir = dirWith('[llm]\nbase_url = "https://llm.example.com/v1"\napi_key_env = "OTHER_KEY"\n');
    expect(workerLlmSettings(dir, { OPENAI_BASE_URL: 'http://ignored', OPENAI_API_KEY: 'not this', OTHER_KEY: 'k2' })).toEqual({ baseURL: 'https://llm.example.com/v1', apiKey: 'k2', keyVariable: 'OTHER_KEY' });
  });

  it('refuse a bad [llm] section, naming the key', () => {
    expect(() => loadCapsuleConfig(dirWith('[llm]\nbase_url = "not a url"\n'))).toThrow(/"llm\.base_url": expected a URL/);
    expect(() => loadCapsuleConfig(dirWith('[llm]\napi_key = "sk-in-a-file"\n'))).toThrow(/unknown key\(s\) "llm\.api_key"/);
    expect(() => loadCapsuleConfig(dirWith('[llm]\napi_key_env = "1 bad"\n'))).toThrow(/"llm\.api_key_env": expected an environment variable name/);
  });
});
