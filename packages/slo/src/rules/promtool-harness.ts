// Test support (not exported): runs promtool on generated rules. Only *.test.ts files import it.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { promtoolPath } from '@ops/testkit';
import { stringify } from 'yaml';
import type { AlertingRule, RecordingRule, RuleFile } from './prometheus-rules.js';

const run = promisify(execFile);

/** Output of one promtool run. */
export interface PromtoolResult {
  ok: boolean;
  output: string;
}

/** `promtool <args>` in `cwd`; never rejects (a failure is `ok: false` with the output). */
export async function promtool(args: string[], cwd: string): Promise<PromtoolResult> {
  try {
    const { stdout, stderr } = await run(promtoolPath(), args, { cwd, maxBuffer: 64 * 1024 * 1024 });
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message?: string };
    return { ok: false, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}${failure.message ?? ''}` };
  }
}

/** Writes `content` (YAML text or an object) to `dir/name` and runs `promtool check rules` on it. */
export async function checkRules(dir: string, name: string, content: string | RuleFile): Promise<PromtoolResult> {
  await writeFile(join(dir, name), typeof content === 'string' ? content : toYaml(content));
  return promtool(['check', 'rules', name], dir);
}

/** Writes a promtool unit-test file and runs `promtool test rules` on it. */
export async function testRules(dir: string, name: string, content: unknown): Promise<PromtoolResult> {
  await writeFile(join(dir, name), toYaml(content));
  const result = await promtool(['test', 'rules', name], dir);
  // promtool exits 0 with "SUCCESS"; anything else (FAILED, parse errors) is a failure.
  return { ok: result.ok && result.output.includes('SUCCESS'), output: result.output.slice(0, 20_000) };
}

export function toYaml(content: unknown): string {
  return stringify(content, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Alerting rules of a rule file, in order. */
export function alertingRules(file: RuleFile): AlertingRule[] {
  return file.groups.flatMap((group) => group.rules).filter((rule): rule is AlertingRule => 'alert' in rule);
}

/** Recording rules of a rule file, in order. */
export function recordingRules(file: RuleFile): RecordingRule[] {
  return file.groups.flatMap((group) => group.rules).filter((rule): rule is RecordingRule => 'record' in rule);
}

/**
 * What promtool reports for an alerting rule that fires for the label set `seriesLabels` (the labels its expression
 * keeps): the series labels overridden by the rule's labels, and the rule's annotations (no templates used).
 */
export function expectedAlert(
  rule: AlertingRule,
  seriesLabels: Record<string, string>,
): { exp_labels: Record<string, string>; exp_annotations: Record<string, string> } {
  return { exp_labels: { ...seriesLabels, ...rule.labels }, exp_annotations: rule.annotations };
}
