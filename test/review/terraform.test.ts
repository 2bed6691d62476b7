/**
 * The Terraform analysis, driven by fixture files: each `test/fixtures/review/terraform/<case>.tf`
 * is analyzed as a changed file, and its findings must be exactly the `<case>.json` list (kind,
 * and where given line, resource, evidence, message, severity), in order.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeTerraform, MAX_TERRAFORM_FILE } from '../../src/review/index.js';

const dir = new URL('../fixtures/review/terraform/', import.meta.url).pathname;
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.tf'))
  .sort()
  .map((file) => {
    const name = file.slice(0, -'.tf'.length);
    const expected = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as { description: string; findings: Record<string, unknown>[] };
    return { name, file, source: readFileSync(join(dir, file), 'utf8'), ...expected };
  });

describe('Terraform findings (fixture corpus)', () => {
  it('has its cases', () => {
    // The corpus cannot silently go empty or lose cases.
    expect(cases.length).toBeGreaterThanOrEqual(22);
  });

  it.each(cases)('$name: $description', async ({ file, source, findings, description }) => {
    const found = await analyzeTerraform([{ path: `terraform/${file}`, status: 'added', content: source }]);
    expect(
      found.map((f) => f.kind),
      description,
    ).toEqual(findings.map((f) => f['kind']));
    findings.forEach((want, i) => {
      const got = found[i] as unknown as Record<string, unknown>;
      const subset = Object.fromEntries(Object.keys(want).map((k) => [k, got[k]]));
      expect(subset, `${description}: finding ${i}`).toEqual(want);
      expect(got['file']).toBe(`terraform/${file}`);
    });
  });

  it('a file too large to parse safely is reported for a human, not parsed', async () => {
    const big = `# ${'x'.repeat(MAX_TERRAFORM_FILE)}\nresource "aws_s3_bucket" "b" {}\n`;
    const found = await analyzeTerraform([{ path: 'big.tf', status: 'added', content: big }]);
    expect(found.map((f) => [f.kind, f.file, f.evidence])).toEqual([['terraform_unparsed', 'big.tf', `larger than ${MAX_TERRAFORM_FILE} characters`]]);
  });

  it('skips removed files and files that are not Terraform', async () => {
    const open = 'resource "aws_s3_bucket" "b" {}\n';
    expect(
      await analyzeTerraform([
        { path: 'old.tf', status: 'removed' },
        { path: 'notes.md', status: 'added', content: open },
      ]),
    ).toEqual([]);
  });
});
