/**
 * `docs/policy.schema.json`, generated from the native policy schema (src/policy/schema.ts):
 * `npm run schema` writes it, and a drift test fails when the committed file differs.
 *
 * Zod's JSON Schema covers the shapes; what its refinements say (a matcher has exactly one
 * operator, `approval` only on a `require_approval` rule, no obligations on a `deny` rule)
 * is added here in JSON Schema's own terms, so editors judge documents as the loader does.
 */

import * as z from 'zod';
import { MatcherSchema, NativePolicySchema, RuleSchema } from './schema.js';

export const POLICY_SCHEMA_ID = 'https://github.com/agent-bastion/bastion/blob/main/docs/policy.schema.json';

type Json = Record<string, unknown>;

/**
 * The JSON Schema (draft 2020-12) of a native policy document.
 *
 * @example writeFileSync('docs/policy.schema.json', JSON.stringify(policyJsonSchema(), null, 2) + '\n')
 */
export function policyJsonSchema(): Json {
  const generated = z.toJSONSchema(NativePolicySchema, {
    target: 'draft-2020-12',
    // A document is what people write: the input side of transforms (`sql: statement` as well as `sql: [statement]`).
    io: 'input',
    override: ({ zodSchema, jsonSchema }) => {
      const js = jsonSchema as Json;
      if (zodSchema === MatcherSchema) {
        js['minProperties'] = 2;
        js['maxProperties'] = 2;
      }
      if (zodSchema === RuleSchema) {
        js['allOf'] = [
          // biome-ignore lint/suspicious/noThenProperty: `if`/`then` are JSON Schema keywords, not a thenable
          { if: { required: ['approval'] }, then: { properties: { effect: { description: '`approval` requires a `require_approval` rule.', const: 'require_approval' } } } },
          // biome-ignore lint/suspicious/noThenProperty: `if`/`then` are JSON Schema keywords, not a thenable
          { if: { required: ['obligations'] }, then: { properties: { effect: { description: 'A `deny` rule carries no obligations.', enum: ['allow', 'require_approval'] } } } },
        ];
      }
    },
  }) as Json;
  const { $schema, ...rest } = generated;
  return { $schema, $id: POLICY_SCHEMA_ID, ...rest };
}

/** The file's exact text: two-space JSON and a final newline. */
export function policySchemaText(schema: Json): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
