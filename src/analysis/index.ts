/**
 * Action analysis: what a shell command, a SQL query, a path or a URL really does, in the
 * canonical categories with a documented risk (docs/analysis.md). This file is the whole
 * public face of src/analysis.
 */

export { createAnalyzer } from './analyzer.js';
export { buildFacts, analyzerForBlocks } from './facts.js';
export { appendTaint, copyTaint, isTainted, traceDownloads, TAINT_DOWNLOADS_LIMIT, TAINT_SOURCES_LIMIT } from './taint.js';
export type { DownloadTaintEntry, ResultTaintEntry, TaintEntry, TaintStore } from './taint.js';
export type { Analyzer, AnalyzeOptions } from './analyzer.js';
export { parseAnalyzerConfig, AnalyzerConfigSchema, ANALYZER_KINDS, DEFAULT_ARGUMENTS, BUILTIN_ACTION_ARGUMENTS } from './analyzer-config.js';
export type { AnalyzerConfig, AnalyzerKind, ArgumentMap } from './analyzer-config.js';
export type { ShellAnalysis, ShellOptions, ShellFinding } from './shell-analyzer.js';
export type { SqlAnalysis, SqlFinding } from './sql-analyzer.js';
export type { PathAnalysis, PathOptions } from './path-analyzer.js';
export type { UrlAnalysis, UrlOptions } from './url-analyzer.js';
export type { PathZone } from './risk-table.js';
export { classifyHost, hostMatches, hostInList, normalizeHost, parseUrl } from '../core/net.js';
export type { HostClass, ParsedUrl } from '../core/net.js';
