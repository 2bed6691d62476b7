/**
 * Server-sent events read from the upstream's bytes (the WHATWG event-stream grammar): lines
 * end in LF, CRLF or CR; `event`, `data`, `id` fields; comments ignored; an event is
 * dispatched at a blank line. Invalid UTF-8 is an error, never replaced: the proxy passes on
 * only what it has read and decided. An event cut off by the end of the stream is dropped
 * (the API transforms then report the stream as incomplete).
 */

import { BastionException, bastionError } from '../core/errors.js';

export interface UpstreamEvent {
  event?: string;
  data: string;
}

/** The largest event the proxy holds while it is incomplete. */
const MAX_EVENT_CHARS = 8 * 1024 * 1024;

export class SseReader {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private pending = '';
  private event: string | undefined;
  private data: string[] = [];
  private size = 0;

  /** The complete events in `chunk` (and what came before it). */
  push(chunk: Uint8Array): UpstreamEvent[] {
    let text: string;
    try {
      text = this.decoder.decode(chunk, { stream: true });
    } catch {
      throw new BastionException(bastionError('UPSTREAM_UNAVAILABLE', 'the upstream stream is not valid UTF-8'));
    }
    return this.lines(text);
  }

  /** The stream ended: an event without its closing blank line is dropped. */
  end(): void {
    try {
      this.decoder.decode();
    } catch {
      throw new BastionException(bastionError('UPSTREAM_UNAVAILABLE', 'the upstream stream ends inside a UTF-8 sequence'));
    }
  }

  private lines(text: string): UpstreamEvent[] {
    const out: UpstreamEvent[] = [];
    let buf = this.pending + text;
    // A CR at the very end may be the first half of a CRLF: keep it for the next chunk.
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 13 && i === buf.length - 1) break;
      const line = buf.slice(start, i);
      if (c === 13 && buf.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
      const e = this.line(line);
      if (e) out.push(e);
    }
    buf = buf.slice(start);
    this.pending = buf;
    if (this.pending.length + this.size > MAX_EVENT_CHARS) throw new BastionException(bastionError('UPSTREAM_UNAVAILABLE', `an upstream event is larger than ${MAX_EVENT_CHARS} characters`));
    return out;
  }

  private line(line: string): UpstreamEvent | undefined {
    if (line === '') {
      if (this.data.length === 0 && this.event === undefined) return undefined;
      const e: UpstreamEvent = { data: this.data.join('\n'), ...(this.event !== undefined ? { event: this.event } : {}) };
      this.data = [];
      this.event = undefined;
      this.size = 0;
      return e;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.size += value.length;
    } else if (field === 'event') this.event = value;
    // `id` and `retry` are the upstream's reconnection hints: not passed on (the proxy's stream cannot be resumed).
    return undefined;
  }
}
