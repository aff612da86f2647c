// Guest to verdict in one step, for the PowerShell suite: validates a facts document against
// packer/facts.schema.json with the validator sysprep-check itself uses, then runs the bundled `sysprep-check` on
// it as the template's hook does.
// Prints {"schemaErrors": [...], "exitCode": n, "passed": b, "checks": {"id": "status", ...}}; exits with the
// check's exit code, or 3 when the document does not match the schema.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { factsSchemaErrors } from '../../src/check/facts.ts';

const root = resolve(import.meta.dirname, '../..');
const [factsPath, teams = 'true'] = process.argv.slice(2);
if (!factsPath) {
  console.error('usage: facts-verdict.ts FACTS_JSON [TEAMS]');
  process.exit(2);
}
const facts = JSON.parse(readFileSync(factsPath, 'utf8')) as unknown;
const errors = factsSchemaErrors(facts);

const check = spawnSync(
  process.execPath,
  [resolve(root, 'dist/index.js'), 'sysprep-check', '--facts', factsPath, '--teams', teams, '--json'],
  { encoding: 'utf8', timeout: 60_000 },
);
let passed: boolean | null = null;
const checks: Record<string, string> = {};
try {
  const report = JSON.parse(check.stdout) as { passed: boolean; checks: { id: string; status: string }[] };
  passed = report.passed;
  for (const c of report.checks) checks[c.id] = c.status;
} catch {
  checks['(output)'] = `${check.stdout}${check.stderr}`.slice(0, 2000);
}
const exitCode = errors.length > 0 ? 3 : (check.status ?? 1);
console.log(JSON.stringify({ schemaErrors: errors, exitCode, passed, checks }, null, 2));
process.exit(exitCode);
