/**
 * Guest text on the operator's terminal. A task's output, error messages and results are the guest's to choose, and
 * a terminal obeys the control sequences in what it prints: clearing lines, moving the cursor, setting the window
 * title, writing the clipboard (OSC 52). Everything printed for humans (not `--json`) goes through forTerminal, which
 * shows each control character as a visible escape instead: C0 controls but newline and tab, DEL, C1 controls (8-bit
 * CSI/OSC) and the Unicode bidirectional overrides that reorder what a line appears to say.
 */

const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function forTerminal(text: string): string {
  return text.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
