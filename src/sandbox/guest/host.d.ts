/** The runner's host imports (see ../wit/runner.wit); provided by src/sandbox/host/imports.ts. */
declare module 'capsule:sandbox/host@0.1.0' {
  export function fsCall(op: string, args: string): string;
  export function noteDenial(capability: string, target: string, reason: string): void;
  export function context(): string;
}
