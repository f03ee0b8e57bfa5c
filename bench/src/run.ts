/**
 * Benchmark runner: `pnpm --filter @ops/bench bench [suite...]`.
 *
 * Discovers bench/src/<folder>/<file>.bench.ts, runs each selected suite (the default export, a BenchSuite),
 * writes bench/results/<suite>.json (rows, date, machine facts) and regenerates bench/RESULTS.md from every
 * results file, so suites of different packages never write the same file.
 *
 * A suite is selected by its name (`core-rolling-window`), its folder (`core`) or its file name
 * (`rolling-window`); with no arguments every suite runs.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchRow, BenchSuite } from './harness.js';

const sourceDirectory = dirname(fileURLToPath(import.meta.url));
const benchDirectory = join(sourceDirectory, '..');
const resultsDirectory = join(benchDirectory, 'results');
const resultsMarkdown = join(benchDirectory, 'RESULTS.md');

/** Facts about the machine a result was measured on. */
export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  node: string;
  os: string;
  /** 1-minute load average when the suite started: other work on the machine makes figures noisier. */
  loadAverage1m: number;
}

/** The content of bench/results/<suite>.json. */
export interface SuiteResult {
  suite: string;
  description: string;
  /** ISO 8601 time the run finished. */
  date: string;
  durationMs: number;
  machine: MachineFacts;
  rows: BenchRow[];
}

function osDescription(): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    if (pretty) return `${pretty} (${osType()} ${release()})`;
  } catch {
    // not Linux, or no os-release: fall back to the kernel
  }
  return `${osType()} ${release()}`;
}

export function machineFacts(): MachineFacts {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    node: process.version,
    os: osDescription(),
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}

interface SuiteFile {
  path: string;
  folder: string;
  file: string;
}

async function discover(): Promise<SuiteFile[]> {
  const found: SuiteFile[] = [];
  for (const entry of await readdir(sourceDirectory, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const file of await readdir(join(sourceDirectory, entry.name))) {
      if (file.endsWith('.bench.ts'))
        found.push({
          path: join(sourceDirectory, entry.name, file),
          folder: entry.name,
          file: basename(file, '.bench.ts'),
        });
    }
  }
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

async function loadSuite(file: SuiteFile): Promise<BenchSuite> {
  const module = (await import(pathToFileURL(file.path).href)) as { default?: BenchSuite };
  const suite = module.default;
  if (!suite || typeof suite.name !== 'string' || typeof suite.run !== 'function') {
    throw new Error(
      `${relative(benchDirectory, file.path)}: the default export must be a BenchSuite ({ name, description, run })`,
    );
  }
  return suite;
}

/** Picks the suites named on the command line; imports only the files needed to decide. */
async function select(files: SuiteFile[], wanted: string[]): Promise<BenchSuite[]> {
  if (wanted.length === 0) return Promise.all(files.map(loadSuite));
  const chosen = new Map<string, BenchSuite>();
  const unmatched: string[] = [];
  for (const name of wanted) {
    const byPath = files.filter(
      (file) => name === file.folder || name === file.file || name === `${file.folder}-${file.file}`,
    );
    const candidates = byPath.length > 0 ? byPath : files;
    let matched = false;
    for (const file of candidates) {
      const suite = await loadSuite(file);
      if (byPath.length > 0 || suite.name === name) {
        chosen.set(suite.name, suite);
        matched = true;
      }
    }
    if (!matched) unmatched.push(name);
  }
  if (unmatched.length > 0) {
    const names = files.map((file) => `${file.folder}-${file.file}`).join(', ');
    throw new UsageError(`unknown suite(s): ${unmatched.join(', ')}. Available: ${names || '(none)'}`);
  }
  return [...chosen.values()];
}

class UsageError extends Error {}

function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return value === undefined ? '—' : String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1e9) return `${(value / 1e9).toFixed(2)} G`;
  if (magnitude >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (magnitude >= 1e4) return `${(value / 1e3).toFixed(1)} k`;
  if (magnitude >= 100) return value.toFixed(0);
  return value.toPrecision(3);
}

function formatBytes(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Renders RESULTS.md from every suite result: one section per suite, one table per group. */
export function renderResults(results: SuiteResult[]): string {
  const lines = [
    '# Benchmark results',
    '',
    'Generated by `pnpm --filter @ops/bench bench [suite...]` from `bench/results/*.json`; do not edit by hand.',
    'Each row measures ours and the peer in the same process and run, interleaved round by round. Figures are the',
    'median, min and max over the samples; **ratio** is ours ÷ peer (medians). For throughput (higher is better) a',
    'ratio above 1 means ours is faster; for latency and memory a ratio below 1 means ours is smaller.',
    '',
  ];
  for (const result of [...results].sort((a, b) => a.suite.localeCompare(b.suite))) {
    const machine = result.machine;
    lines.push(
      `## ${result.suite}`,
      '',
      result.description,
      '',
      `Measured ${result.date} in ${(result.durationMs / 1000).toFixed(1)} s on ${machine.cpuModel} (${machine.cores} cores), ` +
        `${formatBytes(machine.memoryBytes)} RAM, Node.js ${machine.node}, ${machine.os}; load average ${machine.loadAverage1m ?? '?'} at start.`,
      '',
    );
    const groups = new Map<string, BenchRow[]>();
    for (const row of result.rows) groups.set(row.group, [...(groups.get(row.group) ?? []), row]);
    for (const [group, rows] of groups) {
      lines.push(
        `### ${group}`,
        '',
        '| metric | unit | ours median | ours min | ours max | peer | peer median | peer min | peer max | ratio | target | met | samples | notes |',
        '|---|---|--:|--:|--:|---|--:|--:|--:|--:|---|---|--:|---|',
      );
      for (const row of rows) {
        const cells = [
          escapeCell(row.metric),
          row.unit,
          formatNumber(row.ours.median),
          formatNumber(row.ours.min),
          formatNumber(row.ours.max),
          row.peer ? escapeCell(row.peer.name) : '—',
          formatNumber(row.peer?.median),
          formatNumber(row.peer?.min),
          formatNumber(row.peer?.max),
          row.ratio === undefined ? '—' : `${row.ratio.toFixed(2)}×`,
          row.target ? escapeCell(row.target) : '—',
          row.met === undefined ? '—' : row.met ? 'yes' : '**no**',
          row.peer ? `${row.ours.samples} / ${row.peer.samples}` : String(row.ours.samples),
          row.notes ? escapeCell(row.notes) : '',
        ];
        lines.push(`| ${cells.join(' | ')} |`);
      }
      lines.push('');
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

async function readAllResults(): Promise<SuiteResult[]> {
  let files: string[];
  try {
    files = (await readdir(resultsDirectory)).filter((file) => file.endsWith('.json'));
  } catch {
    return [];
  }
  const results: SuiteResult[] = [];
  for (const file of files.sort()) {
    const parsed = JSON.parse(await readFile(join(resultsDirectory, file), 'utf8')) as SuiteResult;
    if (typeof parsed.suite !== 'string' || !Array.isArray(parsed.rows))
      throw new Error(`bench/results/${file} is not a suite result`);
    results.push(parsed);
  }
  return results;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      'Usage: pnpm --filter @ops/bench bench [suite...] | --render\nRuns bench/src/*/*.bench.ts and regenerates bench/RESULTS.md (--render: only regenerates it from bench/results/).\n',
    );
    return 0;
  }
  if (argv.includes('--render')) {
    await writeFile(resultsMarkdown, renderResults(await readAllResults()));
    return 0;
  }
  const files = await discover();
  const suites = await select(files, argv);
  await mkdir(resultsDirectory, { recursive: true });
  const gc = (globalThis as { gc?: () => void }).gc;
  const failed: string[] = [];
  for (const suite of suites) {
    process.stderr.write(`bench: running ${suite.name} …\n`);
    gc?.();
    const machine = machineFacts();
    const started = performance.now();
    let rows: BenchRow[];
    try {
      rows = await suite.run();
    } catch (error) {
      // One broken suite must not cost the others their run; its previous results file is kept as it was.
      failed.push(suite.name);
      process.stderr.write(
        `bench: ${suite.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      continue;
    }
    const result: SuiteResult = {
      suite: suite.name,
      description: suite.description,
      date: new Date().toISOString(),
      durationMs: Math.round(performance.now() - started),
      machine,
      rows,
    };
    await writeFile(join(resultsDirectory, `${suite.name}.json`), `${JSON.stringify(result, null, 2)}\n`);
    for (const row of rows) {
      const ratio = row.ratio === undefined ? '' : ` ratio ${row.ratio.toFixed(2)}× vs ${row.peer?.name}`;
      process.stderr.write(
        `  ${row.group} · ${row.metric}: median ${formatNumber(row.ours.median)} ${row.unit}${ratio}${row.met === false ? ' (target not met)' : ''}\n`,
      );
    }
  }
  await writeFile(resultsMarkdown, renderResults(await readAllResults()));
  process.stderr.write(`bench: wrote ${relative(process.cwd(), resultsMarkdown) || 'RESULTS.md'}\n`);
  if (failed.length > 0) {
    process.stderr.write(`bench: ${failed.length} suite(s) failed: ${failed.join(', ')}\n`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = error instanceof UsageError ? 2 : 1;
    },
  );
}
