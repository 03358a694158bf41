import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSecretValues, parseDotenv } from '../../src/config/dotenv.js';
import { DotenvError } from '../../src/config/errors.js';
import { narrowSecrets } from '../../src/config/secrets.js';

describe('.env files', () => {
  it('parses names, export, quotes, escapes, comments and multi-line values', () => {
    const text = [
      '# a comment', '', 'PLAIN=value # trailing comment', 'export EXPORTED = spaced ', `SINGLE='lit\\n # kept'`,
      'DOUBLE="a\\nb \\"q\\""', 'MULTI="line one', 'line two"', 'EMPTY=', 'NAME_ONLY', 'HASH=abc#def',
    ].join('\n');
    expect(Object.fromEntries(parseDotenv(text, '.env'))).toEqual({
      PLAIN: 'value', EXPORTED: 'spaced', SINGLE: 'lit\\n # kept', DOUBLE: 'a\nb "q"', MULTI: 'line one\nline two', EMPTY: '', HASH: 'abc#def',
    });
  });

  it.each([
    ['1BAD=x', '.env:1: "1BAD" is not a variable name'],
    ['A=1\nB="open', '.env:2: the double quote that opens the value of B is never closed'],
    [`C='x' y`, '.env:1: unexpected text after the quoted value of C'],
    ['= nothing', '.env:1: expected NAME=value'],
  ])('refuses %j naming the line', (text, message) => {
    expect(() => parseDotenv(text, '.env')).toThrow(DotenvError);
    expect(() => parseDotenv(text, '.env')).toThrow(message);
  });

  it('takes the environment first, then .env.local, then .env', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-dotenv-'));
    try {
      writeFileSync(path.join(dir, '.env'), 'A=from-env-file\nB=from-env-file\nC=from-env-file\n');
      writeFileSync(path.join(dir, '.env.local'), 'B=from-local\nC=from-local\n');
      const values = loadSecretValues({ env: { C: 'from-environment' }, dir });
      expect(['A', 'B', 'C', 'D'].map((name) => values.get(name))).toEqual(['from-env-file', 'from-local', 'from-environment', undefined]);
      expect(loadSecretValues({ env: {}, dir: path.join(dir, 'missing') }).get('A')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sub-task narrowing', () => {
  it('keeps at most the caller\'s names and hosts', () => {
    const narrowed = narrowSecrets(
      { A: ['*.example.com'], B: ['b.example.com'], C: ['c.example.com'] },
      { A: ['api.example.com:443', 'other.test'], C: ['d.example.com'] },
    );
    expect(narrowed).toEqual({ A: ['api.example.com:443'] });
    expect(narrowSecrets({ A: ['a.test'] }, { A: ['a.test', 'b.test'] })).toEqual({ A: ['a.test'] });
    expect(narrowSecrets({ A: ['a.test:443', 'b.test'] }, { A: ['a.test'] })).toEqual({ A: ['a.test:443'] });
  });
});
