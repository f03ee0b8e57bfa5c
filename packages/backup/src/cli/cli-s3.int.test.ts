import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir, type TempDir } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, useS3rver } from '../storages/s3/s3-test-server.js';

// The built command against an S3-compatible server: it loads @aws-sdk/client-s3 on demand from the library it
// imports by name, and exits by itself (each command closes the storage it opened).
const binPath = join(resolve(fileURLToPath(import.meta.url), '../../..'), 'dist', 'cli', 'bin.js');
const s3 = useS3rver();
let directory: TempDir;
let configPath: string;

beforeAll(async () => {
  directory = await tempDir('backup-cli-s3');
  configPath = join(directory.path, 'ops-backup.yaml');
  await writeFile(
    configPath,
    `storage:
  type: s3
  bucket: ${BUCKET}
  prefix: cli
  endpoint: ${s3.endpoint()}
  forcePathStyle: true
  credentials: { accessKeyId: S3RVER, secretAccessKey: S3RVER }
jobs:
  - name: files
    sources: [{ type: files, directory: ${directory.path} }]
`,
  );
  await writeFile(join(directory.path, 'note.txt'), 'hello\n');
});

afterAll(async () => {
  await directory?.dispose();
});

describe('ops-backup on S3 (built command)', () => {
  it('run and list work and exit by themselves', async () => {
    if (!existsSync(binPath)) throw new Error(`build the package first: ${binPath} is missing`);
    const exec = promisify(execFile);
    // execFile's timeout kills a process that does not exit: a storage left open would fail here.
    const options = { cwd: directory.path, timeout: 30_000 };
    await exec(process.execPath, [binPath, 'run', '-c', configPath], options);
    const { stdout } = await exec(process.execPath, [binPath, 'list', '--json', '-c', configPath], options);
    const listed = JSON.parse(stdout) as
      { job: string; state: string }[] | { backups: { job: string; state: string }[] };
    const backups = Array.isArray(listed) ? listed : listed.backups;
    expect(backups.map((backup) => [backup.job, backup.state])).toEqual([['files', 'completed']]);
  });
});
