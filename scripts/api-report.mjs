#!/usr/bin/env node
/**
 * The API report: what each entry point of the package (`exports` in package.json) declares,
 * as API Extractor reads it from the built `.d.ts` files. `npm run api` writes `api/*.api.md`;
 * `node scripts/api-report.mjs --check` (run by the test suite) fails when the built API
 * differs from the committed report, so every change to the public surface is a visible diff.
 *
 * Needs a build (`npm run build`) first.
 */

import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const reportFolder = join(root, 'api');
const tempFolder = join(root, 'node_modules', '.cache', 'api-report');
mkdirSync(reportFolder, { recursive: true });
mkdirSync(tempFolder, { recursive: true });

let failed = 0;
for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (typeof target !== 'object' || target === null || typeof target.types !== 'string') continue;
  const name = subpath === '.' ? 'agent-bastion' : `agent-bastion-${subpath.slice(2).replaceAll('/', '-')}`;
  const entry = join(root, target.types);
  if (!existsSync(entry)) {
    console.error(`api-report: ${target.types} is missing: run \`npm run build\` first`);
    process.exit(2);
  }
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: root,
      mainEntryPointFilePath: entry,
      compiler: { tsconfigFilePath: join(root, 'tsconfig.build.json') },
      apiReport: { enabled: true, reportFolder, reportTempFolder: tempFolder, reportFileName: `${name}.api.md` },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        extractorMessageReporting: { default: { logLevel: 'none' } },
        tsdocMessageReporting: { default: { logLevel: 'none' } },
        compilerMessageReporting: { default: { logLevel: 'warning' } },
      },
    },
    configObjectFullPath: join(root, 'api', 'api-extractor.json'),
    packageJsonFullPath: join(root, 'package.json'),
  });
  const result = Extractor.invoke(config, {
    localBuild: !check,
    showVerboseMessages: false,
    messageCallback: (m) => {
      m.handled = true;
    },
  });
  if (check && result.apiReportChanged) {
    failed++;
    console.error(
      `api-report: the public API of \`${subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`}\` differs from api/${name}.api.md (see ${join(tempFolder, `${name}.api.md`)}); if the change is intended, run \`npm run api\` and commit the report`,
    );
  } else if (!result.succeeded) {
    failed++;
    console.error(`api-report: API Extractor failed for ${subpath} (${result.errorCount} errors)`);
  } else {
    console.log(`api-report: ${subpath} ${check ? 'matches' : 'written to'} api/${name}.api.md`);
  }
}
if (!check) rmSync(tempFolder, { recursive: true, force: true });
process.exit(failed > 0 ? 1 : 0);
