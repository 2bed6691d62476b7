#!/usr/bin/env node
// Writes docs/policy.schema.json from the native policy schema (src/policy/schema.ts, built
// into dist/ first by `npm run schema`). test/policy/schema.test.ts fails when the committed
// file differs from what this writes.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { policyJsonSchema, policySchemaText } from '../dist/policy/json-schema.js';

const target = fileURLToPath(new URL('../docs/policy.schema.json', import.meta.url));
writeFileSync(target, policySchemaText(policyJsonSchema()));
console.log(`wrote ${target}`);
