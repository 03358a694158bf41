/**
 * Base64 for file bytes crossing the JSON boundary, by SpiderMonkey's native `Uint8Array.fromBase64` /
 * `toBase64` (TC39, in StarlingMonkey's engine): a loop over bytes in JavaScript runs in the guest's interpreter at
 * thousands of wasm instructions a byte, all of them the task's fuel.
 */
interface NativeBase64 {
  fromBase64(text: string): Uint8Array;
}
interface NativeToBase64 {
  toBase64(): string;
}

export function bytesToBase64(bytes: Uint8Array): string {
  return (bytes as Uint8Array & NativeToBase64).toBase64();
}

export function base64ToBytes(text: string): Uint8Array {
  return (Uint8Array as unknown as NativeBase64).fromBase64(text);
}
