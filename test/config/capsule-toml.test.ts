import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCapsuleConfig } from '../../src/config/capsule-toml.js';
import { ConfigError } from '../../src/config/errors.js';

let dir: string;
const write = (text: string) => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-toml-'));
  writeFileSync(path.join(dir, 'capsule.toml'), text);
  return dir;
};
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('capsule.toml', () => {
  it('is optional', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-toml-'));
    expect(loadCapsuleConfig(dir)).toEqual({ file: undefined, tasks: {}, temporal: {}, payloads: {}, mcp: {}, llm: {} });
  });

  it('reads [tasks] defaults and [temporal] settings', () => {
    const config = loadCapsuleConfig(write(`
[tasks]
default_compute = "low"
default_ram = "64MB"
default_timeout = "10s"
default_max_retries = 2
default_max_lost_attempts = 4
default_allowed_files = ["./data", { path = "./out", mode = "read-write" }]
default_allowed_hosts = ["api.example.com"]
default_env_variables = ["API_KEY"]

[temporal]
address = "temporal.example.com:7233"
namespace = "agents"
`));
    expect(config.tasks).toEqual({
      compute: 'low', ram: '64MB', timeout: '10s', maxRetries: 2, maxLostAttempts: 4,
      allowedFiles: ['./data', { path: './out', mode: 'read-write' }], allowedHosts: ['api.example.com'], envVariables: ['API_KEY'],
    });
    expect(config.temporal).toEqual({ address: 'temporal.example.com:7233', namespace: 'agents' });
  });

  it('rejects an unknown key, naming the file and the key', () => {
    const d = write('[tasks]\ndefault_compte = "LOW"\n');
    expect(() => loadCapsuleConfig(d)).toThrow(ConfigError);
    expect(() => loadCapsuleConfig(d)).toThrow(`${path.join(d, 'capsule.toml')}: unknown key(s) "tasks.default_compte"`);
  });

  it('rejects a value of the wrong type', () => {
    const d = write('[tasks]\ndefault_allowed_hosts = "api.example.com"\n');
    expect(() => loadCapsuleConfig(d)).toThrow('"tasks.default_allowed_hosts"');
  });

  it('rejects a default_max_lost_attempts that is not an integer from 0 to 1000', () => {
    for (const value of ['-1', '2.5', '1001']) {
      const d = write(`[tasks]\ndefault_max_lost_attempts = ${value}\n`);
      expect(() => loadCapsuleConfig(d)).toThrow(`"tasks.default_max_lost_attempts": expected an integer from 0 to 1000`);
    }
  });

  it('rejects TOML that does not parse, with the line', () => {
    const d = write('[tasks\ndefault_ram = 1\n');
    expect(() => loadCapsuleConfig(d)).toThrow(/not valid TOML \(line 1/);
  });
});
