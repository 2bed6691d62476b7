/**
 * Pins the package's public API: the `exports` map and the runtime names `src/index.ts`
 * exports. Adding or removing one is a decision, made here on purpose.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

describe('public API', () => {
  it('has exactly these runtime exports', () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        'AUDIT_EVENT_TYPES',
        'AUDIT_SCHEMA_VERSION',
        'ActionDeniedError',
        'ActionEvent',
        'ActionRuntime',
        'BASELINE_POLICY',
        'BastionException',
        'CATEGORIES',
        'ERROR_CODES',
        'KILL_SWITCH_POLICY',
        'NO_FACTS',
        'REASONS',
        'RISKS',
        'canonicalJson',
        'checkCheckpointSignature',
        'checkEgress',
        'classifyHost',
        'compareRisk',
        'createAnalyzer',
        'createGateway',
        'createSiemSink',
        'createStreamRedactor',
        'decisionEvent',
        'detectFormat',
        'detectInjection',
        'evaluate',
        'extractDestinations',
        'factsFor',
        'hostInList',
        'hostMatches',
        'isCategory',
        'isRisk',
        'loadPolicySet',
        'maxRisk',
        'normalizeHost',
        'openAuditLog',
        'openAuditReader',
        'openSqliteAuditLog',
        'openSqliteAuditReader',
        'createMemoryAuditStore',
        'keyDirectory',
        'ephemeralKey',
        'parseAnalyzerConfig',
        'parseUrl',
        'redact',
        'redactValue',
        'scanRequest',
        'scanText',
        'spotlight',
        'toOcsf',
        'toZyx',
        'validateOutput',
        'validateRequest',
        'verifyConsistency',
        'verifyInclusion',
        'verifyInclusionProof',
        'verifyRows',
        'watchPolicies',
      ].sort(),
    );
  });

  it('exposes only the package root and package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown>; bin: Record<string, string> };
    expect(Object.keys(pkg.exports)).toEqual(['.', './package.json']);
    expect(pkg.bin).toEqual({ bastion: 'dist/cli/main.js' });
  });
});
