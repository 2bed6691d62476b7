/**
 * What of an MCP tool is pinned: everything that tells the model what the tool is and how to
 * call it (name, title, description, input and output schema, annotations), never `_meta`
 * (transport and client hints that may change freely). The hash is over RFC 8785 canonical
 * JSON, so key order does not change it and any value does.
 */

import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';

const PINNED_FIELDS = ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;

/** The pinned part of a tool definition, as plain JSON. */
export function pinnedDefinition(tool: Tool): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const source = tool as unknown as Record<string, unknown>;
  for (const field of PINNED_FIELDS) if (source[field] !== undefined) out[field] = source[field];
  return out;
}

/** `sha256:<hex>` of a pinned definition; undefined when it holds what JSON cannot carry. */
export function definitionHash(definition: Record<string, unknown>): string | undefined {
  const text = canonicalJson(definition);
  if (!text.ok) return undefined;
  return `sha256:${createHash('sha256').update(text.value, 'utf8').digest('hex')}`;
}

/**
 * The text of a definition a model reads: the title, the description, and every description
 * and title inside the schemas (a poisoned parameter description is as dangerous as the tool's).
 */
export function readableText(definition: Record<string, unknown>): string {
  const parts: string[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 32 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      for (const item of v) walk(item, depth + 1);
      return;
    }
    for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
      if ((k === 'description' || k === 'title') && typeof item === 'string') parts.push(item);
      else walk(item, depth + 1);
    }
  };
  if (typeof definition['title'] === 'string') parts.push(definition['title']);
  if (typeof definition['description'] === 'string') parts.push(definition['description']);
  walk(definition['inputSchema'], 0);
  walk(definition['outputSchema'], 0);
  return parts.join('\n');
}
