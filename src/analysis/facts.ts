/**
 * The facts builder: what the engine decides on, derived from one action request. The set's
 * analyzer (shell/SQL/path/URL) runs, then the content scanners (secrets, pii, injection,
 * destinations); their findings merge into one `Analysis`. Every surface builds facts here, so
 * `evaluate()` and `gateway.decide()` see the same facts for the same request.
 *
 * The trace's taint is a fact too, but it is state (read from a `TaintStore`): the caller
 * passes it alongside (`Facts.taint`) and the engine folds it into `analysis.untrustedContent`;
 * the files the trace's earlier calls downloaded (kept in the same record) go to the analyzer
 * (`AnalyzeOptions.downloaded`), so running one is seen as running downloaded code.
 */

import type { Category } from '../core/categories.js';
import { bastionError, type BastionError } from '../core/errors.js';
import type { Result } from '../core/result.js';
import { maxRisk } from '../core/risk.js';
import type { ActionRequest, Analysis, Facts } from '../core/types.js';
import { scanRequest } from '../scan/index.js';
import { createAnalyzer, type Analyzer, type AnalyzeOptions } from './analyzer.js';
import { parseAnalyzerConfig, type AnalyzerConfig } from './analyzer-config.js';

function mergeCategories(a: readonly Category[], b: readonly Category[]): Category[] {
  return [...new Set([...a, ...b])].sort();
}

/**
 * Builds the facts of one request: the analyzer's output merged with the content scan. An
 * analyzer that throws (a bug) must not turn into an allow: the analysis then reports
 * `parsed: false`, risk `high` and the error.
 *
 * @example const facts = buildFacts(createAnalyzer(), request); facts.analysis.categories
 */
export function buildFacts(analyzer: Analyzer, request: ActionRequest, options: AnalyzeOptions = {}): Facts {
  let analysis: Analysis;
  try {
    analysis = analyzer.analyze(request, options);
  } catch (err) {
    analysis = { parsed: false, risk: 'high', categories: [], findings: [], error: `analysis failed: ${(err as Error).message}` };
  }
  const content = scanRequest(request);
  let risk = analysis.risk;
  for (const f of content.findings) risk = maxRisk(risk, f.risk);
  const merged: Analysis = {
    ...analysis,
    risk,
    categories: mergeCategories(
      analysis.categories,
      content.findings.map((f) => f.category),
    ),
    findings: [...analysis.findings, ...content.findings],
    secrets: content.secrets,
    pii: content.pii,
    destinations: content.destinations,
  };
  if (content.injection) merged['injection'] = content.injection;
  return { analysis: merged };
}

/**
 * Builds one analyzer from the `analyzers:` blocks of a policy set, in policy order: for one
 * action glob the higher-priority policy's mapping wins; allowed roots and URL lists combine.
 *
 * @example const r = analyzerForBlocks(set.analyzers); if (r.ok) r.value.analyze(request);
 */
export function analyzerForBlocks(blocks: readonly unknown[]): Result<Analyzer, BastionError> {
  const merged: AnalyzerConfig = {};
  for (const raw of blocks) {
    const r = parseAnalyzerConfig(raw, 'analyzers');
    if (!r.ok) return r;
    const c = r.value;
    if (c.actions) merged.actions = { ...c.actions, ...(merged.actions ?? {}) };
    if (c.paths?.allowedRoots) merged.paths = { allowedRoots: [...(merged.paths?.allowedRoots ?? []), ...c.paths.allowedRoots] };
    if (c.urls) {
      merged.urls = {
        allow: [...(merged.urls?.allow ?? []), ...(c.urls.allow ?? [])],
        deny: [...(merged.urls?.deny ?? []), ...(c.urls.deny ?? [])],
      };
    }
    if (c.cacheSize !== undefined) merged.cacheSize = Math.max(merged.cacheSize ?? 0, c.cacheSize);
  }
  try {
    return { ok: true, value: createAnalyzer(merged) };
  } catch (err) {
    return { ok: false, errors: [bastionError('CONFIG_INVALID', `analyzers: ${(err as Error).message}`)] };
  }
}
