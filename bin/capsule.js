#!/usr/bin/env node
// Capsule is written in TypeScript and runs from source through tsx, so `npx capsule` works right after install.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
