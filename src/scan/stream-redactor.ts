/**
 * Redaction of a stream of chunks (an SSE answer, a command's output): a secret cut across
 * two chunks is still caught, because text is released only once enough of what follows it
 * has been seen, and the text before the release point stays in view as context.
 */

import type { ScanFinding } from './types.js';

/** Held back from the end of what has been seen: longer than every token format but key blocks. */
const HOLD = 1024;
/** Kept before the release point so `password=` stays in view of a value released later. */
const CONTEXT = 256;
/** The most a single token or key block may hold back. */
const MAX_HOLD = 16384;

function isTokenChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45 || c === 46 || c === 43 || c === 47 || c === 61 || c === 126;
}

export interface StreamRedactor {
  /** Adds a chunk; returns the redacted text that is now safe to release (maybe empty). */
  push(chunk: string): string;
  /** Ends the stream; returns the redacted rest. */
  end(): string;
}

/**
 * @param scan finds redactable spans in a window of text
 * @param redactWindow redacts a window given its findings
 */
export function makeStreamRedactor(scan: (text: string) => ScanFinding[], redactWindow: (text: string, findings: readonly ScanFinding[]) => string): StreamRedactor {
  // `buffer` = already-released context (first `released` chars) + pending text.
  let buffer = '';
  let released = 0;
  let ended = false;

  const release = (final: boolean): string => {
    const findings = scan(buffer);
    let cut = final ? buffer.length : Math.max(released, buffer.length - HOLD);
    if (!final) {
      // Never release the start of an unfinished key block or a long run of token characters.
      const begin = buffer.lastIndexOf('-----BEGIN');
      if (begin >= released && buffer.indexOf('-----END', begin) < 0 && buffer.length - begin < MAX_HOLD) cut = Math.min(cut, begin);
      // Never cut inside a run of token characters: its start may be what a rule needs.
      const floor = Math.max(released, cut - MAX_HOLD);
      if (cut < buffer.length && isTokenChar(buffer.charCodeAt(cut))) while (cut > floor && isTokenChar(buffer.charCodeAt(cut - 1))) cut--;
      let moved = true;
      while (moved) {
        moved = false;
        for (const f of findings) if (f.start < cut && f.end > cut && f.start >= released) (cut = f.start), (moved = true);
      }
    }
    // Findings reaching back into released context were handled (or released) before.
    const inWindow = findings.filter((f) => f.start >= released && f.end <= cut).map((f) => ({ ...f, start: f.start - released, end: f.end - released }));
    const out = redactWindow(buffer.slice(released, cut), inWindow);
    const keepFrom = Math.max(0, cut - CONTEXT);
    buffer = buffer.slice(keepFrom);
    released = cut - keepFrom;
    return out;
  };

  return {
    push(chunk: string): string {
      if (ended) throw new Error('stream redactor: push after end');
      buffer += chunk;
      if (buffer.length - released <= HOLD) return '';
      return release(false);
    },
    end(): string {
      if (ended) return '';
      ended = true;
      return release(true);
    },
  };
}
