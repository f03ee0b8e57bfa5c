import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generateAgeIdentity, type BackupTiming } from '@ops/backup';
import { queryPostgres } from '@ops/testkit';
import { compareRow, stats, type BenchRow, type BenchSuite } from '../harness.js';
import { ADMIN_URL, databaseUrl } from './support/bench-databases.js';

// @ops/backup against the shell pipeline it replaces (issue 13): `pg_dump -Fc -Z0|-Z1 | age -r K > f` (and with
// `| tee f | sha256sum` for the checksum), and `age -d -i K < f | pg_restore -d db` for restores. Both sides run as
// fresh processes (ours: Node start, module loading, lock, manifest, checksums, verify-stored; the peer: bash, pg_dump,
// age), alternating round by round so the load of the shared machine hits both alike.

const execFileAsync = promisify(execFile);
const child = join(dirname(fileURLToPath(import.meta.url)), 'support', 'pipeline-child.mjs');
const ROUNDS = Number(process.env.OPS_BENCH_BACKUP_SAMPLES ?? 3);
const KEEP = process.env.OPS_BENCH_KEEP_DATABASES === '1';
const DATABASES = [
  { name: 'bench_backup_pgbench25', scale: 25, label: 'small: pgbench scale 25' },
  { name: 'bench_backup_pgbench70', scale: 70, label: 'large: pgbench scale 70' },
].filter(
  (database) => !process.env.OPS_BENCH_PIPELINE_ONLY || database.name.endsWith(process.env.OPS_BENCH_PIPELINE_ONLY),
);

const admin = new URL(ADMIN_URL);
const connectionFlags = ['-h', admin.hostname, '-p', admin.port || '5432', '-U', decodeURIComponent(admin.username)];

/** Runs `text` on the bench server's admin database. */
function sql<T extends Record<string, unknown>>(text: string): Promise<T[]> {
  return queryPostgres<T>(ADMIN_URL, text);
}

/** Creates a pgbench database of `scale` once (reused when present); resolves with its size in bytes. */
async function ensurePgbench(name: string, scale: number): Promise<number> {
  const present = await sql(`SELECT 1 FROM pg_database WHERE datname = '${name}'`);
  if (present.length === 0) {
    process.stderr.write(`generating ${name} (pgbench -i -s ${scale})\n`);
    await sql(`CREATE DATABASE "${name}"`);
    await execFileAsync('pgbench', [...connectionFlags, '-i', '-q', '-s', String(scale), name], {
      maxBuffer: 16 * 1024 * 1024,
    });
  }
  const size = await sql<{ bytes: string }>(`SELECT pg_database_size('${name}') AS bytes`);
  return Number(size[0]?.bytes);
}

/** Runs a shell pipeline (`set -o pipefail`), resolving with its wall seconds. */
async function shell(script: string): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const process_ = spawn('bash', ['-c', `set -euo pipefail; ${script}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    process_.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    process_.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${script}: exit ${code}: ${stderr}`)),
    );
  });
  return (performance.now() - started) / 1000;
}

interface ChildResult {
  state: string;
  error?: string;
  id?: string;
  storedBytes?: number;
  startupMs: number;
  importMs: number;
  runMs: number;
  timings: BackupTiming[];
  maxRssBytes: number;
  cpuUserMs: number;
  cpuSystemMs: number;
}

/**
 * Runs ours in a fresh Node process, or in `running` (a process that has loaded @ops/backup and run before, as a
 * service embedding it is); resolves with its wall seconds (spawn to exit, or request to answer) and what it reported.
 */
async function ours(
  command: 'backup' | 'restore',
  options: object,
  running?: RunningChild,
): Promise<{ seconds: number; result: ChildResult }> {
  if (running) return running.run(command, options);
  const started = performance.now();
  const { stdout } = await execFileAsync(process.execPath, [child, command, JSON.stringify(options)], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const seconds = (performance.now() - started) / 1000;
  const result = JSON.parse(stdout) as ChildResult;
  if (result.state !== 'completed') throw new Error(`ours ${command}: ${result.state}: ${result.error}`);
  return { seconds, result };
}

/** A Node process with @ops/backup loaded that runs one command at a time (pipeline-child.mjs serve). */
class RunningChild {
  private readonly child = spawn(process.execPath, [child, 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  private readonly answers = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();

  async run(command: 'backup' | 'restore', options: object): Promise<{ seconds: number; result: ChildResult }> {
    const started = performance.now();
    this.child.stdin.write(`${JSON.stringify({ command, options })}\n`);
    const answer = await this.answers.next();
    const seconds = (performance.now() - started) / 1000;
    if (answer.done) throw new Error(`ours ${command}: the running process ended`);
    const result = JSON.parse(answer.value as string) as ChildResult;
    if (result.state !== 'completed') throw new Error(`ours ${command}: ${result.state}: ${result.error}`);
    return { seconds, result };
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.stdin.end();
    await exited;
  }
}

interface Candidate {
  name: string;
  run: () => Promise<number>;
}

/** CPU seconds the whole machine has been busy (every process and the kernel: /proc/stat), or NaN off Linux. */
async function machineBusySeconds(): Promise<number> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => '');
  const fields = (text.split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  if (fields.length < 8) return Number.NaN;
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / 100; // USER_HZ
}

/** Wall seconds of each run of ours (a) and the peer (b), with the CPU seconds the machine and the server were busy. */
interface Samples {
  a: number[];
  b: number[];
  cpuA: number[];
  cpuB: number[];
  /** CPU seconds of the PostgreSQL server's processes that exited during the run (NaN when unreadable). */
  serverA: number[];
  serverB: number[];
}

/** The bench server's postmaster PID, from its data directory's postmaster.pid (asked once: a query's backend would count). */
async function findPostmasterPid(): Promise<string> {
  const rows = await sql<{ setting: string }>(`SELECT setting FROM pg_settings WHERE name = 'data_directory'`);
  return (await readFile(join(rows[0]?.setting ?? '', 'postmaster.pid'), 'utf8')).split('\n')[0]?.trim() ?? '';
}
let postmasterPid: Promise<string> | undefined;

/**
 * CPU seconds of the bench server's child processes that have exited (the postmaster's cutime + cstime in /proc: a
 * backend counts once it ends), or NaN when the server is not a local process this one can read.
 */
async function serverChildrenCpuSeconds(): Promise<number> {
  try {
    const pid = await (postmasterPid ??= findPostmasterPid());
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command's closing parenthesis: the 16th and 17th of the line are cutime and cstime.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100; // USER_HZ
  } catch {
    return Number.NaN;
  }
}

/**
 * Writes out what earlier work left in memory, so that no timed run pays for it: the server's dirty buffers
 * (`CHECKPOINT`: a generated database or the last restore) and every file system's dirty pages (`sync`). The shell
 * pipeline never fsyncs, while ours fsyncs its lock, manifests and artifact; without this, ours' first fsync could
 * wait for writeback left behind by the database's generation, a restore or the peer's run before.
 */
async function quiesce(): Promise<void> {
  await sql('CHECKPOINT');
  await execFileAsync('sync');
}

/**
 * Alternates `a` and `b` for ROUNDS rounds (b first on odd rounds), quiescing before each run; resolves with the
 * seconds of each, the CPU seconds the machine was busy during each (pg_dump, the server's backend, age or Node, the
 * kernel: all of it) and the CPU seconds of the server's backends that ended during each.
 */
async function alternate(a: Candidate, b: Candidate): Promise<Samples> {
  const out: Samples = { a: [], b: [], cpuA: [], cpuB: [], serverA: [], serverB: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    for (const which of order) {
      await quiesce();
      const server = await serverChildrenCpuSeconds();
      const busy = await machineBusySeconds();
      out[which].push(await (which === 'a' ? a : b).run());
      out[which === 'a' ? 'cpuA' : 'cpuB'].push((await machineBusySeconds()) - busy);
      // The run's backends have closed; give the postmaster a moment to reap them so their time is counted.
      await new Promise((resolve) => setTimeout(resolve, 100));
      out[which === 'a' ? 'serverA' : 'serverB'].push((await serverChildrenCpuSeconds()) - server);
    }
  }
  return out;
}

async function dropDatabase(name: string): Promise<void> {
  await sql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

const median = (values: number[]) => stats(values).median;

/** Milliseconds of `step` in one run's timings (summed when reported more than once; 0 when absent). */
const stepMs = (timings: BackupTiming[], step: string) =>
  timings.filter((timing) => timing.step === step).reduce((sum, timing) => sum + timing.ms, 0);

/** Milliseconds of all of `steps` in one run's timings. */
const stepsMs = (timings: BackupTiming[], steps: readonly string[]) =>
  steps.reduce((sum, step) => sum + stepMs(timings, step), 0);

/** The steps of a backup that give what the pipeline does not: the manifest's two sha256 and the verify-stored re-read. */
const GUARANTEE_STEPS = ['stage.hash-plain', 'stage.hash-stored', 'verify'];

/**
 * The steps of a run before and after its source, one after another on the critical path, none of which the pipeline
 * has: the job's lock, leftover cleanup, the manifest writes, committing the artifact, the verify-stored re-read.
 */
const RUN_STEPS = [
  'lock',
  'cleanup',
  'manifest.initial',
  'hooks.pre',
  'artifact.commit',
  'verify',
  'hooks.post',
  'manifest.final',
  'lock.release',
];

/** How the rows that run ours in a process that is already running name it. */
const IN_A_RUNNING_PROCESS =
  'in a running process (a service embedding @ops/backup: Node started, modules loaded, one backup run before)';

/** The cases whose runs are kept for a time breakdown. */
type KeptCase = 'age' | 'gzip';

/** What the kept runs of one case reported, run by run. */
interface KeptRuns {
  timings: BackupTiming[][];
  startupMs: number[];
  importMs: number[];
  rss: number[];
  cpu: number[];
  /** Wall seconds, spawn to exit. */
  wall: number[];
}

const newKeptRuns = (): KeptRuns => ({ timings: [], startupMs: [], importMs: [], rss: [], cpu: [], wall: [] });

/** The rows of one backup's time breakdown: startup, every step, CPU, peak RSS (medians over the kept runs). */
function backupBreakdownRows(group: string, runs: KeptRuns): BenchRow[] {
  if (runs.wall.length === 0) return [];
  const row = (metric: string, unit: string, values: number[]): BenchRow => ({
    group,
    metric,
    unit,
    ours: stats(values),
    higherIsBetter: false,
  });
  const steps = new Map<string, number[]>();
  for (const run of runs.timings)
    for (const timing of run) steps.set(timing.step, [...(steps.get(timing.step) ?? []), timing.ms]);
  return [
    row('startup: process start → script running (Node)', 'ms', runs.startupMs),
    row('startup: loading @ops/backup and @ops/core', 'ms', runs.importMs),
    ...[...steps].map(([step, values]) => row(step, 'ms', values)),
    row('CPU time of the Node process (user + system)', 'ms', runs.cpu),
    {
      ...row('peak RSS (getrusage maxRSS)', 'MiB', runs.rss),
      target: '≤ 150 MiB, flat',
      met: median(runs.rss) <= 150,
    },
  ];
}

const suite: BenchSuite = {
  name: 'backup-pipeline-vs-shell',
  description: `@ops/backup (a fresh Node process: runBackup with lock, manifest, plain and stored sha256, age; verify-stored on or off; restorePostgres) against the shell pipeline with the same compression and encryption (bash: pg_dump -Fc -Z0|-Z1 | age -r K > f, + | tee f | sha256sum; age -d -i K < f | pg_restore -d db), alternating round by round, ${ROUNDS} rounds each, with the server's and the file systems' dirty pages written out before each run (CHECKPOINT, sync), on pgbench databases of scale 25 (~400 MB) and 70 (~1.1 GB). Throughput = database bytes / wall seconds of the whole command; ratio = ours ÷ peer.`,
  async run(): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];
    const directory = await mkdtemp(join(tmpdir(), 'ops-bench-pipeline-'));
    const { identity, recipient } = generateAgeIdentity();
    const identityFile = join(directory, 'identity.txt');
    await writeFile(identityFile, `${identity}\n`, { mode: 0o600 });
    const target = {
      host: admin.hostname,
      port: Number(admin.port || 5432),
      user: decodeURIComponent(admin.username),
    };
    try {
      for (const database of DATABASES) {
        const bytes = await ensurePgbench(database.name, database.scale);
        const url = databaseUrl(database.name);
        const group = `${database.label} (${(bytes / 1e6).toFixed(0)} MB database)`;
        const mbps = (seconds: number) => bytes / 1e6 / seconds;
        // One throughput row: ours against the pipeline, from wall seconds sampled alternately.
        const throughputRow = (
          metric: string,
          samples: { a: number[]; b: number[]; cpuA: number[]; cpuB: number[] },
          peerName: string,
          atLeast: number,
        ) =>
          compareRow(
            {
              group,
              metric,
              unit: 'MB/s',
              ours: stats(samples.a.map(mbps)),
              peer: { ...stats(samples.b.map(mbps)), name: peerName },
              higherIsBetter: true,
              target: `≥ ${atLeast.toFixed(1)}× the pipeline`,
              notes: `wall s: ours ${samples.a.map((s) => s.toFixed(2)).join('/')}, peer ${samples.b.map((s) => s.toFixed(2)).join('/')}; machine CPU s busy (all processes): ours ${samples.cpuA.map((s) => s.toFixed(1)).join('/')}, peer ${samples.cpuB.map((s) => s.toFixed(1)).join('/')}; load ${loadavg()[0]?.toFixed(2)}`,
            },
            { atLeast },
          );
        // How much of the machine a command keeps busy: CPU seconds busy ÷ (wall seconds × cores).
        const cpuRows = (
          metric: string,
          samples: { a: number[]; b: number[]; cpuA: number[]; cpuB: number[] },
          peerName: string,
        ) => {
          const cores = cpus().length;
          const share = (cpu: number[], wall: number[]) =>
            cpu.map((busy, index) => (100 * busy) / ((wall[index] ?? 1) * cores));
          return [
            compareRow({
              group,
              metric: `${metric}: machine CPU seconds busy per run (every process: pg_dump, the server's backend, Node or age, the kernel)`,
              unit: 's',
              ours: stats(samples.cpuA),
              peer: { ...stats(samples.cpuB), name: peerName },
              higherIsBetter: false,
              notes: `ours ${samples.cpuA.map((s) => s.toFixed(2)).join('/')}, peer ${samples.cpuB.map((s) => s.toFixed(2)).join('/')}`,
            }),
            compareRow({
              group,
              metric: `${metric}: share of the ${cores} cores busy during the run`,
              unit: '%',
              ours: stats(share(samples.cpuA, samples.a)),
              peer: { ...stats(share(samples.cpuB, samples.b)), name: peerName },
              higherIsBetter: true,
            }),
          ];
        };
        const storage = join(directory, 'store');
        const peerFile = join(directory, 'peer.age');
        process.stderr.write(`${group}: load average ${loadavg()[0]?.toFixed(2)}\n`);
        // A process that has loaded @ops/backup and run one backup before (unmeasured), as a service embedding it has.
        let runningChild: RunningChild | undefined;
        const running = async (): Promise<RunningChild> => {
          if (runningChild) return runningChild;
          runningChild = new RunningChild();
          await rm(storage, { recursive: true, force: true });
          await runningChild.run('backup', {
            storage,
            connectionString: url,
            recipient,
            compression: { algorithm: 'gzip', level: 1 },
            verifyStored: true,
          });
          return runningChild;
        };
        try {
          // The runs whose breakdown is reported: the age backup without compression, and the default (gzip 1 in pg_dump).
          const kept: Record<KeptCase, KeptRuns> = { age: newKeptRuns(), gzip: newKeptRuns() };
          const backup = (options: object, keep?: KeptCase, running?: RunningChild): Candidate => ({
            name: 'ours',
            run: async () => {
              await rm(storage, { recursive: true, force: true });
              const { seconds, result } = await ours(
                'backup',
                { storage, connectionString: url, recipient, ...options },
                running,
              );
              if (keep) {
                const runs = kept[keep];
                runs.timings.push(result.timings);
                runs.startupMs.push(result.startupMs);
                runs.importMs.push(result.importMs);
                runs.rss.push(result.maxRssBytes / 1024 / 1024);
                runs.cpu.push(result.cpuUserMs + result.cpuSystemMs);
                runs.wall.push(seconds);
              }
              return seconds;
            },
          });
          const peer = (script: string): Candidate => ({
            name: 'peer',
            run: async () => {
              const seconds = await shell(script);
              await rm(peerFile, { force: true });
              return seconds;
            },
          });
          const dump = (level: number) => `pg_dump -Fc -Z${level} '${url}'`;
          // The pipeline given the checksums ours records: the plain and the stored sha256 while it streams (tee into
          // OpenSSL, which hashes at SHA-NI speed like Node; coreutils' sha256sum is about 2.5× slower here) and, with
          // verify, the stored file re-read and its sha256 compared.
          const fifos = join(directory, 'fifos');
          const withChecksums = (level: number, verify: boolean) =>
            [
              `rm -rf ${fifos}; mkdir ${fifos}; mkfifo ${fifos}/plain ${fifos}/stored`,
              `openssl dgst -sha256 -r < ${fifos}/plain > ${fifos}/plain.sha & a=$!`,
              `openssl dgst -sha256 -r < ${fifos}/stored > ${fifos}/stored.sha & b=$!`,
              `${dump(level)} | tee ${fifos}/plain | age -r ${recipient} | tee ${fifos}/stored > ${peerFile}`,
              'wait $a $b',
              ...(verify
                ? [
                    `openssl dgst -sha256 -r < ${peerFile} > ${fifos}/verify.sha`,
                    `cmp -s ${fifos}/stored.sha ${fifos}/verify.sha`,
                  ]
                : []),
              `rm -rf ${fifos}`,
            ].join('; ');
          const CHECKSUMS = 'tee >(sha256) | age -r K | tee >(sha256) > f';
          // The runbook's bare line, without and with pg_dump's gzip 1.
          const bareAgePipeline = {
            peerName: 'pg_dump -Fc -Z0 | age -r K > f',
            script: `${dump(0)} | age -r ${recipient} > ${peerFile}`,
          };
          const bareGzipPipeline = {
            peerName: 'pg_dump -Fc -Z1 | age -r K > f',
            script: `${dump(1)} | age -r ${recipient} > ${peerFile}`,
          };
          const cases: {
            metric: string;
            options: object;
            peerName: string;
            script: string;
            atLeast: number;
            keep?: KeptCase;
            /** Run in the running process (a service that embeds @ops/backup) instead of a fresh one. */
            running?: boolean;
          }[] = [
            {
              metric: 'backup, age, no compression, verify-stored on',
              options: { compression: { algorithm: 'none' }, verifyStored: true },
              ...bareAgePipeline,
              atLeast: 1.0,
              keep: 'age',
            },
            {
              metric: 'backup, age, no compression, verify-stored on, against the pipeline with the same checksums',
              options: { compression: { algorithm: 'none' }, verifyStored: true },
              peerName: `pg_dump -Fc -Z0 | ${CHECKSUMS}; sha256 f, compared (OpenSSL)`,
              script: withChecksums(0, true),
              atLeast: 1.0,
            },
            {
              metric: 'backup, age, no compression, verifyStored: false',
              options: { compression: { algorithm: 'none' }, verifyStored: false },
              peerName: 'pg_dump -Fc -Z0 | age -r K | tee f | sha256sum',
              script: `${dump(0)} | age -r ${recipient} | tee ${peerFile} | sha256sum`,
              atLeast: 1.2,
            },
            {
              metric: 'backup, age + gzip 1 (the default: pg_dump -Z1 inside the dump), verify-stored on',
              options: { compression: { algorithm: 'gzip', level: 1 }, verifyStored: true },
              ...bareGzipPipeline,
              atLeast: 1.0,
              keep: 'gzip',
            },
            {
              metric: `backup, age + gzip 1 (the default), verify-stored on, ${IN_A_RUNNING_PROCESS}`,
              options: { compression: { algorithm: 'gzip', level: 1 }, verifyStored: true },
              ...bareGzipPipeline,
              atLeast: 1.0,
              running: true,
            },
            {
              metric: `backup, age, no compression, verify-stored on, ${IN_A_RUNNING_PROCESS}`,
              options: { compression: { algorithm: 'none' }, verifyStored: true },
              ...bareAgePipeline,
              atLeast: 1.0,
              running: true,
            },
            {
              metric: 'backup, age, no compression, verifyStored: false, against the pipeline with the same checksums',
              options: { compression: { algorithm: 'none' }, verifyStored: false },
              peerName: `pg_dump -Fc -Z0 | ${CHECKSUMS} (OpenSSL)`,
              script: withChecksums(0, false),
              atLeast: 1.0,
            },
            {
              metric:
                'backup, age + gzip 1 (the default: pg_dump -Z1 inside the dump), verify-stored on, against the pipeline with the same checksums',
              options: { compression: { algorithm: 'gzip', level: 1 }, verifyStored: true },
              peerName: `pg_dump -Fc -Z1 | ${CHECKSUMS}; sha256 f, compared (OpenSSL)`,
              script: withChecksums(1, true),
              atLeast: 1.0,
            },
            {
              metric: 'backup, age + gzip 1 in Node (compressInsideDump: false), verify-stored on',
              options: { compression: { algorithm: 'gzip', level: 1 }, compressInsideDump: false, verifyStored: true },
              ...bareGzipPipeline,
              atLeast: 1.0,
            },
            {
              metric: 'backup, age + pg_dump -Z1 (dumpCompressionLevel 1), verify-stored on',
              options: { compression: { algorithm: 'none' }, dumpCompressionLevel: 1, verifyStored: true },
              ...bareGzipPipeline,
              atLeast: 1.0,
            },
            {
              metric:
                'backup, directory format, parallelJobs: 2 (pg_dump -Fd -j 2, gzip 1 inside, tar + age), verify-stored on',
              options: {
                compression: { algorithm: 'gzip', level: 1 },
                format: 'directory',
                parallelJobs: 2,
                verifyStored: true,
              },
              ...bareGzipPipeline,
              atLeast: 1.0,
            },
            {
              metric: 'backup, age + pg_dump -Z1 (dumpCompressionLevel 1), verifyStored: false',
              options: { compression: { algorithm: 'none' }, dumpCompressionLevel: 1, verifyStored: false },
              peerName: 'pg_dump -Fc -Z1 | age -r K | tee f | sha256sum',
              script: `${dump(1)} | age -r ${recipient} | tee ${peerFile} | sha256sum`,
              atLeast: 1.2,
            },
          ];
          const keptSamples: Partial<Record<KeptCase, Samples & { metric: string; peerName: string }>> = {};
          for (const item of cases) {
            process.stderr.write(`  ${item.metric} …\n`);
            const samples = await alternate(
              backup(item.options, item.keep, item.running ? await running() : undefined),
              peer(item.script),
            );
            rows.push(throughputRow(item.metric, samples, item.peerName, item.atLeast));
            if (item.keep) {
              keptSamples[item.keep] = { ...samples, metric: item.metric, peerName: item.peerName };
              rows.push(...cpuRows(item.metric, samples, item.peerName));
            }
            if (item.script === withChecksums(0, true)) rows.push(...cpuRows(item.metric, samples, item.peerName));
          }
          // Derived, not a measured run: how fast ours would be without the guarantees the pipeline does not give.
          const ageSamples = keptSamples.age;
          if (ageSamples && kept.age.wall.length > 0) {
            const withoutGuarantees = kept.age.wall.map(
              (seconds, index) => seconds - stepsMs(kept.age.timings[index] ?? [], GUARANTEE_STEPS) / 1000,
            );
            rows.push(
              compareRow({
                group,
                metric: `derived: backup, age, no compression, verify-stored on, minus ${GUARANTEE_STEPS.join(' + ')} (the pipeline has no manifest checksums and no verify)`,
                unit: 'MB/s',
                ours: stats(withoutGuarantees.map(mbps)),
                peer: { ...stats(ageSamples.b.map(mbps)), name: ageSamples.peerName },
                higherIsBetter: true,
                notes: `derived, not measured wall time: each run's wall s minus its ${GUARANTEE_STEPS.join(', ')} ms (main-thread busy time, assumed on the critical path): ${withoutGuarantees.map((s) => s.toFixed(2)).join('/')}; measured wall s ${ageSamples.a.map((s) => s.toFixed(2)).join('/')}; peer the same samples as the measured row`,
              }),
            );
          }
          // The default backup (gzip 1 inside pg_dump): both sides wait on the same pg_dump, whose speed the server's
          // COPY sets; what ours adds is Node's start, loading the modules and the run's own steps (lock, manifest, verify).
          const gzipSamples = keptSamples.gzip;
          if (gzipSamples && kept.gzip.wall.length > 0) {
            const runs = kept.gzip;
            const dumpMs = runs.timings.map((timings) => stepMs(timings, 'postgres.dump'));
            const fixedMs = runs.wall.map(
              (_, index) =>
                (runs.startupMs[index] ?? 0) +
                (runs.importMs[index] ?? 0) +
                stepsMs(runs.timings[index] ?? [], RUN_STEPS),
            );
            const withoutFixed = runs.wall.map((seconds, index) => seconds - (fixedMs[index] ?? 0) / 1000);
            const serverShare = (server: number[], wall: number[]) =>
              server.map((busy, index) => (100 * busy) / (wall[index] ?? 1));
            rows.push(
              compareRow({
                group,
                metric: `${gzipSamples.metric}: ours' pg_dump alone (postgres.dump: spawn to exit, inside the run) against the pipeline's whole wall time`,
                unit: 'ms',
                ours: stats(dumpMs),
                peer: { ...stats(gzipSamples.b.map((seconds) => seconds * 1000)), name: gzipSamples.peerName },
                higherIsBetter: false,
                notes: `per run: ours' pg_dump ${dumpMs.map((ms) => ms.toFixed(0)).join('/')} ms; the pipeline ${gzipSamples.b.map((seconds) => (seconds * 1000).toFixed(0)).join('/')} ms (same samples as the row above)`,
              }),
              // Only when the server's CPU could be read: a local server whose /proc entry this process can see.
              ...([...gzipSamples.serverA, ...gzipSamples.serverB].every(Number.isFinite)
                ? [
                    compareRow({
                      group,
                      metric: `${gzipSamples.metric}: PostgreSQL server CPU seconds per run (its backends, counted when they exit), and their share of the wall time`,
                      unit: 's',
                      ours: stats(gzipSamples.serverA),
                      peer: { ...stats(gzipSamples.serverB), name: gzipSamples.peerName },
                      higherIsBetter: false,
                      notes: `the server's busy share of the wall time: ours ${serverShare(
                        gzipSamples.serverA,
                        gzipSamples.a,
                      )
                        .map((share) => share.toFixed(0))
                        .join('/')} %, the pipeline ${serverShare(gzipSamples.serverB, gzipSamples.b)
                        .map((share) => share.toFixed(0))
                        .join('/')} % (one backend does the COPY, on one core)`,
                    }),
                  ]
                : []),
              compareRow({
                group,
                metric: `derived: ${gzipSamples.metric}, minus Node's start, loading @ops/backup and the run's own steps (${RUN_STEPS.join(', ')})`,
                unit: 'MB/s',
                ours: stats(withoutFixed.map(mbps)),
                peer: { ...stats(gzipSamples.b.map(mbps)), name: gzipSamples.peerName },
                higherIsBetter: true,
                notes: `derived, not measured wall time: each run's wall s minus its startup, module loading and those steps: ${withoutFixed.map((s) => s.toFixed(2)).join('/')}; those fixed costs per run ${fixedMs.map((ms) => ms.toFixed(0)).join('/')} ms; measured wall s ${gzipSamples.a.map((s) => s.toFixed(2)).join('/')}`,
              }),
            );
          }

          // Restore: ours authenticates the whole artifact (age + both sha256) before pg_restore touches the target,
          // then streams it in again (default) or loads a verified local copy; the peer streams into pg_restore
          // unauthenticated. The backup restored is the last one above.
          process.stderr.write(`  restores …\n`);
          const restoreName = `bench_backup_restore_${process.pid}`;
          await rm(storage, { recursive: true, force: true });
          const restored = await ours('backup', {
            storage,
            connectionString: url,
            recipient,
            compression: { algorithm: 'none' },
            verifyStored: false,
          });
          const backupId = restored.result.id ?? '';
          await shell(`${dump(0)} | age -r ${recipient} > ${peerFile}`);
          // What a manifest would hold for the peer's file, so the authenticating peer below compares, as ours does.
          const expected = join(directory, 'expected');
          await shell(
            `mkdir -p ${expected}; openssl dgst -sha256 -r < ${peerFile} | cut -c1-64 > ${expected}/stored; age -d -i ${identityFile} < ${peerFile} | openssl dgst -sha256 -r | cut -c1-64 > ${expected}/plain`,
          );
          const createAndLoad = `createdb ${connectionFlags.join(' ')} ${restoreName}; age -d -i ${identityFile} < ${peerFile} | pg_restore ${connectionFlags.join(' ')} -d ${restoreName}`;
          const plainPeer = { name: 'createdb; age -d -i K < f | pg_restore -d db', script: createAndLoad };
          // The pipeline given ours' guarantees: one read of the whole file checks the stored sha256, every age chunk
          // and the plain sha256 before the database is touched; a second read loads it in one transaction
          // (--single-transaction, as ours) and checks the stored sha256 again (a file swapped between the reads).
          const authenticatingPeer = {
            name: 'tee >(sha256) < f | age -d -i K | sha256, both compared; then createdb; tee >(sha256) < f | age -d -i K | pg_restore --single-transaction -d db, compared (OpenSSL)',
            script: [
              `rm -rf ${fifos}; mkdir ${fifos}; mkfifo ${fifos}/stored ${fifos}/again`,
              `openssl dgst -sha256 -r < ${fifos}/stored | cut -c1-64 > ${fifos}/stored.sha & a=$!`,
              `tee ${fifos}/stored < ${peerFile} | age -d -i ${identityFile} | openssl dgst -sha256 -r | cut -c1-64 > ${fifos}/plain.sha`,
              'wait $a',
              `cmp -s ${fifos}/stored.sha ${expected}/stored`,
              `cmp -s ${fifos}/plain.sha ${expected}/plain`,
              `createdb ${connectionFlags.join(' ')} ${restoreName}`,
              `openssl dgst -sha256 -r < ${fifos}/again | cut -c1-64 > ${fifos}/again.sha & b=$!`,
              `tee ${fifos}/again < ${peerFile} | age -d -i ${identityFile} | pg_restore --single-transaction ${connectionFlags.join(' ')} -d ${restoreName}`,
              'wait $b',
              `cmp -s ${fifos}/again.sha ${expected}/stored`,
              `rm -rf ${fifos}`,
            ].join('; '),
          };
          // Where the seconds of one restore (the default) go, and its peak RSS: medians over the rounds.
          const restoreBreakdown: BenchRow[] = [];
          const restoreBreakdownRows = (results: ChildResult[]): BenchRow[] => {
            const breakdownGroup = `${group}: time breakdown of one restore (the default, one transaction, streamed)`;
            const row = (metric: string, unit: string, values: number[]): BenchRow => ({
              group: breakdownGroup,
              metric,
              unit,
              ours: stats(values),
              higherIsBetter: false,
            });
            const steps = ['restore.tool-check', 'restore.authenticate', 'restore.create-database', 'restore.load'];
            const rss = results.map((result) => result.maxRssBytes / 1024 / 1024);
            return [
              row(
                'startup: process start → script running (Node)',
                'ms',
                results.map((result) => result.startupMs),
              ),
              row(
                'startup: loading @ops/backup and @ops/core',
                'ms',
                results.map((result) => result.importMs),
              ),
              ...steps.map((step) =>
                row(
                  step,
                  'ms',
                  results.map((result) => stepMs(result.timings, step)),
                ),
              ),
              row(
                'CPU time of the Node process, worker included (user + system)',
                'ms',
                results.map((result) => result.cpuUserMs + result.cpuSystemMs),
              ),
              {
                ...row('peak RSS (getrusage maxRSS)', 'MiB', rss),
                target: '≤ 150 MiB, flat',
                met: median(rss) <= 150,
              },
            ];
          };
          const restoreCases: {
            metric: string;
            parallelJobs: number | undefined;
            loadFrom: string | undefined;
            peer: { name: string; script: string };
            /** Run in the running process (a service that embeds @ops/backup) instead of a fresh one. */
            running?: boolean;
          }[] = [
            {
              metric:
                'restore (one transaction), age, no compression (the default from a local storage: authenticated in a first read, streamed into pg_restore in a second)',
              parallelJobs: undefined,
              loadFrom: undefined,
              peer: plainPeer,
            },
            {
              metric:
                'restore (one transaction, the default), against the pipeline with the same guarantees (authenticated before the load, one transaction, the second read re-checked)',
              parallelJobs: undefined,
              loadFrom: undefined,
              peer: authenticatingPeer,
            },
            {
              metric: `restore (one transaction, the default), ${IN_A_RUNNING_PROCESS}`,
              parallelJobs: undefined,
              loadFrom: undefined,
              peer: plainPeer,
              running: true,
            },
            {
              metric: 'restore (one transaction) from a verified local copy (loadFrom: local-copy)',
              parallelJobs: undefined,
              loadFrom: 'local-copy',
              peer: plainPeer,
            },
            {
              metric: 'restore with parallelJobs: 2 (pg_restore -j 2 from the verified local copy)',
              parallelJobs: 2,
              loadFrom: undefined,
              peer: plainPeer,
            },
          ];
          for (const item of restoreCases) {
            process.stderr.write(`  ${item.metric} …\n`);
            const restoreTimings: BackupTiming[][] = [];
            const restoreResults: ChildResult[] = [];
            const samples = await alternate(
              {
                name: 'ours',
                run: async () => {
                  await dropDatabase(restoreName);
                  const { seconds, result } = await ours(
                    'restore',
                    {
                      storage,
                      id: backupId,
                      identity,
                      target: { ...target, database: restoreName },
                      ...(item.parallelJobs ? { parallelJobs: item.parallelJobs } : {}),
                      ...(item.loadFrom ? { loadFrom: item.loadFrom } : {}),
                    },
                    item.running ? await running() : undefined,
                  );
                  await dropDatabase(restoreName);
                  restoreTimings.push(result.timings);
                  restoreResults.push(result);
                  return seconds;
                },
              },
              {
                name: 'peer',
                run: async () => {
                  await dropDatabase(restoreName);
                  const seconds = await shell(item.peer.script);
                  await dropDatabase(restoreName);
                  return seconds;
                },
              },
            );
            const restorePeer = item.peer.name;
            rows.push(throughputRow(item.metric, samples, restorePeer, 1.0));
            if (item === restoreCases[0]) {
              rows.push(...cpuRows('restore (default)', samples, restorePeer));
              restoreBreakdown.push(...restoreBreakdownRows(restoreResults));
            }
            if (item.running) continue; // the steps are the fresh process's, reported below
            if (item.peer === authenticatingPeer) {
              rows.push(...cpuRows('restore (default) against the authenticating pipeline', samples, restorePeer));
              continue; // the step rows and the derived row below compare with the pipeline that does not authenticate
            }
            // How much of the gap is the guarantee the pipeline lacks: ours reads and authenticates the whole artifact
            // (age and both sha256) before pg_restore touches the target — a read of its own (restore.authenticate), or
            // the writing of the local copy (restore.download); the peer streams unauthenticated bytes into the database.
            const authenticateStep = restoreTimings.some((timings) => stepMs(timings, 'restore.download') > 0)
              ? 'restore.download'
              : 'restore.authenticate';
            const authenticate = restoreTimings.map((timings) => stepMs(timings, authenticateStep));
            const load = restoreTimings.map((timings) => stepMs(timings, 'restore.load'));
            const withoutAuthentication = samples.a.map(
              (seconds, index) => seconds - (authenticate[index] ?? 0) / 1000,
            );
            rows.push(
              {
                group,
                metric: `${item.metric}: ${authenticateStep} (${authenticateStep === 'restore.download' ? 'authenticating the whole artifact into a private file' : 'reading and authenticating the whole artifact, keeping nothing'})`,
                unit: 'ms',
                ours: stats(authenticate),
                higherIsBetter: false,
                notes: `per run: ${authenticate.map((ms) => ms.toFixed(0)).join('/')}; load ${loadavg()[0]?.toFixed(2)}`,
              },
              {
                group,
                metric: `${item.metric}: restore.load (${authenticateStep === 'restore.download' ? 'pg_restore from the verified file' : 'pg_restore from the second read, re-checked as it flows'})`,
                unit: 'ms',
                ours: stats(load),
                higherIsBetter: false,
                notes: `per run: ${load.map((ms) => ms.toFixed(0)).join('/')}`,
              },
              compareRow({
                group,
                metric: `derived: ${item.metric} minus ${authenticateStep} (the authentication the pipeline does not do)`,
                unit: 'MB/s',
                ours: stats(withoutAuthentication.map(mbps)),
                peer: { ...stats(samples.b.map(mbps)), name: restorePeer },
                higherIsBetter: true,
                notes: `derived, not measured wall time: each run's wall s minus its ${authenticateStep}: ${withoutAuthentication.map((s) => s.toFixed(2)).join('/')}; measured wall s ${samples.a.map((s) => s.toFixed(2)).join('/')}; peer the same samples as the measured row`,
              }),
            );
          }
          await rm(storage, { recursive: true, force: true });
          await rm(peerFile, { force: true });

          // Where the seconds of one backup go: medians over the rounds.
          rows.push(
            ...backupBreakdownRows(
              `${group}: time breakdown of one backup (age, no compression, verify-stored on)`,
              kept.age,
            ),
            ...backupBreakdownRows(
              `${group}: time breakdown of one backup (the default: gzip 1 inside pg_dump, age, verify-stored on)`,
              kept.gzip,
            ),
          );
          rows.push(...restoreBreakdown);
        } finally {
          await runningChild?.close();
        }
        if (!KEEP) await dropDatabase(database.name);
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
    return rows;
  },
};

export default suite;
