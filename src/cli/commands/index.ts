/**
 * The registry of CLI commands. Adding a command is one import and one entry here.
 */

import type { Command } from '../command.js';
import { analyzeCommand } from './analyze.js';
import { approvalsCommand } from './approvals.js';
import { auditCommand } from './audit.js';
import { checkCommand } from './check.js';
import { execCommand } from './exec.js';
import { hookCommand } from './hook.js';
import { keysCommand } from './keys.js';
import { mcpCommand } from './mcp.js';
import { migrateCommand } from './migrate.js';
import { killSwitchCommand } from './kill-switch.js';
import { policyCommand } from './policy.js';
import { replayCommand } from './replay.js';
import { reviewCommand } from './review.js';
import { scanCommand } from './scan.js';
import { serveCommand } from './serve.js';
import { testCommand } from './test.js';

export const COMMANDS: Command[] = [
  serveCommand,
  checkCommand,
  policyCommand,
  testCommand,
  replayCommand,
  auditCommand,
  approvalsCommand,
  killSwitchCommand,
  keysCommand,
  migrateCommand,
  mcpCommand,
  scanCommand,
  analyzeCommand,
  reviewCommand,
  hookCommand,
  execCommand,
];
