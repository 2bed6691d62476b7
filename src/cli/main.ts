#!/usr/bin/env node
/**
 * The `bastion` binary: wires the process's streams to the CLI dispatcher.
 */

import { runCli } from './run.js';

const code = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
process.exitCode = code;
