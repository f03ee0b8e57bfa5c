import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '@ops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@ops/testkit';
import { backupCli } from './cli.js';

let directory: TempDir;
let config: string;

function cli() {
  const output = { stdout: '', stderr: '' };
  return {
    io: {
      stdout: { write: (chunk: string) => (output.stdout += chunk) },
      stderr: { write: (chunk: string) => (output.stderr += chunk) },
      env: {},
    },
    output,
  };
}
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { io, output } = cli();
  const code = await runCli(backupCli, [...args, '--config', config], io);
  return { code, ...output };
}

beforeAll(async () => {
  directory = await tempDir('backup-cli-retention');
  await mkdir(join(directory.path, 'etc'));
  await writeFile(join(directory.path, 'etc', 'app.conf'), 'answer = 42\n');
  config = join(directory.path, 'ops-backup.yaml');
  await writeFile(
    config,
    `storage: { type: local, directory: ${join(directory.path, 'store')} }\njobs:\n  - name: config\n    sources: [{ type: files, directory: ${join(directory.path, 'etc')} }]\n    tags: [config]\n    retention: { keepLast: 1, minGood: 1 }\n`,
  );
});
afterAll(async () => {
  await directory?.dispose();
});

describe('ops-backup tags and restic-style retention flags', () => {
  it("run --tag adds tags to the job's own; prune --keep-* flags take restic's syntax (1m = one month)", async () => {
    expect((await run(['run', '--tag', 'release', '--tag', 'v1.2.0'])).code).toBe(0);
    expect((await run(['run'])).code).toBe(0);
    expect((await run(['run'])).code).toBe(0);
    const listed = JSON.parse((await run(['list', '--json'])).stdout) as { backups: { id: string }[] };
    expect(listed.backups).toHaveLength(3);

    const byConfig = JSON.parse((await run(['prune', '--json'])).stdout) as {
      jobs: { decisions: { action: string; tags: string[] }[] }[];
    };
    expect(byConfig.jobs[0]?.decisions.map((decision) => [decision.action, decision.tags])).toEqual([
      ['keep', ['config']],
      ['remove', ['config']],
      ['remove', ['config', 'release', 'v1.2.0']],
    ]);

    const restic = await run([
      'prune',
      '--keep-last',
      '1',
      '--keep-tag',
      'release,v1.2.0',
      '--keep-within',
      '1m',
      '--json',
    ]);
    expect(restic.code, restic.stderr).toBe(0);
    const decisions =
      (JSON.parse(restic.stdout) as { jobs: { decisions: { action: string; reasons: string[] }[] }[] }).jobs[0]
        ?.decisions ?? [];
    expect(decisions.map((decision) => decision.action)).toEqual(['keep', 'keep', 'keep']);
    expect(decisions[0]?.reasons).toEqual(['within 1mo of the newest backup', 'last #1']);
    expect(decisions[2]?.reasons).toEqual(['has tags [release, v1.2.0]', 'within 1mo of the newest backup']);
  });

  it('refuses what would surprise: an empty policy, a bad restic duration, a tag with a comma (exit 2)', async () => {
    const empty = await run(['prune', '--keep-last', '0']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('no keep rule');
    const bad = await run(['prune', '--keep-within', '1w']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--keep-within: invalid restic duration "1w"');
    const comma = await run(['run', '--tag', 'a,b']);
    expect(comma.code).toBe(2);
    expect(comma.stderr).toContain('--tag');
  });
});
