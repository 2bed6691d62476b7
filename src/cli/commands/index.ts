/**
 * The registry of CLI commands. Adding a command is one import and one entry here.
 */

import type { Command } from '../command.js';
import { auditCommand } from './audit.js';

export const COMMANDS: Command[] = [auditCommand];
