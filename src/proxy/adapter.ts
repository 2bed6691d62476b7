/**
 * What each API adapter (Chat Completions, Responses, Messages) gives the proxy route, and
 * what the route gives it: the gate that decides tool calls for the verified caller.
 */

import { BastionException, bastionError } from '../core/errors.js';
import { isPlainObject } from '../core/schema.js';
import type { ApiKind } from './answers.js';
import type { ToolResult } from './conversation.js';
import type { GatedCall, ToolCall } from './gate.js';
import type { StreamTransform } from './stream.js';

/** The tool-call gate and bookkeeping of one proxied request. */
export interface Gate {
  decide(calls: readonly ToolCall[]): Promise<GatedCall[]>;
  onDeny: 'error' | 'strip';
  /** Redact secrets in the model's text. */
  redactText: boolean;
  /** Tokens the upstream reports used (spent from the caller's budgets once the answer is done). */
  usage(tokens: number): void;
  /** Ids released to the agent (tool calls, response ids), linking the next turn to this trace. */
  released(ids: readonly { id: string; name?: string }[]): void;
}

/** What a request carries that the proxy reads before forwarding it. */
export interface Inbound {
  results: ToolResult[];
  /** Ids that may link this request to an earlier trace. */
  ids: string[];
  stream: boolean;
  model: string | undefined;
}

export interface Adapter {
  api: ApiKind;
  /** Under the upstream base URL. */
  path: string;
  auth: 'bearer' | 'x-api-key';
  /** Request headers passed on to the upstream as they are (e.g. `anthropic-version`). */
  forwardHeaders: readonly string[];
  /** Reads the (copied) body; tool results are replaced in place through `ToolResult.replace`. */
  inbound(body: Record<string, unknown>): Inbound;
  /** Changes the body before it goes upstream (e.g. asks for usage in a stream). */
  prepare(body: Record<string, unknown>, stream: boolean): void;
  /** Checks a plain answer: the body to send, or the refusal. */
  plain(answer: unknown, gate: Gate): Promise<{ body: unknown } | { refuse: GatedCall }>;
  stream(gate: Gate, body: Record<string, unknown>): StreamTransform;
}

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => isPlainObject(v);

/** A plain answer that does not follow its API. */
export function unreadable(what: string): BastionException {
  return new BastionException(bastionError('UPSTREAM_UNAVAILABLE', `the upstream answer cannot be read: ${what}`));
}

/** The text parts of a content value (a string, or a list of `{type: 'text', text}` parts), each with a way to replace it. */
export function textParts(holder: Json, key: string): { text: string; replace(text: string): void }[] {
  const v = holder[key];
  if (typeof v === 'string') return [{ text: v, replace: (t) => (holder[key] = t) }];
  if (!Array.isArray(v)) return [];
  return v.flatMap((part: unknown) => {
    if (!isObject(part) || typeof part['text'] !== 'string') return [];
    return [{ text: part['text'], replace: (t: string) => (part['text'] = t) }];
  });
}

/** One result made of all its text parts: inspected as one text, put back into the first part. */
export function joinParts(parts: { text: string; replace(text: string): void }[]): { text: string; replace(text: string): void } | undefined {
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return parts[0];
  return {
    text: parts.map((p) => p.text).join('\n'),
    replace: (t) => parts.forEach((p, i) => p.replace(i === 0 ? t : '')),
  };
}
