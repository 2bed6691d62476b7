/**
 * The declarations of every entry point, as API Extractor reads them from the built `.d.ts`
 * files, must equal the committed reports in `api/`: a change to the public types is a
 * visible diff in review. After an intended change, `npm run api` rewrites the reports.
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

describe('API report', () => {
  it('the built declarations match api/*.api.md', async () => {
    const result = await promisify(execFile)(process.execPath, ['scripts/api-report.mjs', '--check'], { cwd: root }).then(
      (r) => ({ code: 0, stderr: r.stderr }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  }, 120_000);
});
