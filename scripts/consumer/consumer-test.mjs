#!/usr/bin/env node
// The consumer stage: installs the published packages as a user does and checks what a user touches first.
//
//   1. `pnpm pack` every published package (packages/* that are not private) — the tarballs npm would publish.
//   2. A fresh project outside the workspace (a temp dir; no hoisting help, no workspace links), `npm install` of the
//      tarballs with TypeScript and @types/node only — no optional peer — then a strict type-check of a file that
//      imports every public entry point, under `module: node16` and under `moduleResolution: bundler`, with
//      `skipLibCheck: false`: a public type must not need an optional peer the user did not install.
//   3. Every entry point loads as ESM (`import`) and as CommonJS (`require`), and every CLI answers `--help` and
//      `--version` (exit 0) from node_modules/.bin; `ops-backup` and `ops-slo` also run real commands (a files
//      backup, its full-read verification and restore; an SLO file's validation), see `realCommands`.
//   4. The optional peers are installed, and every ```ts block of every package README is extracted (so the docs
//      and this test cannot drift) and type-checked under strict node16 and bundler (skipLibCheck here: step 2
//      already checked our declarations, and some peers' own declarations do not pass without it). A block preceded by
//      `<!-- consumer: fragment -->` is an excerpt and is skipped (and counted); a block preceded by
//      `<!-- consumer: run -->` is also compiled and run as ESM against the real services (DATABASE_URL and
//      REDIS_URL point at the local PostgreSQL and Redis) and must exit 0.
//
// With `--footprint`, also installs each package alone into a fresh project and prints what it weighs for a user:
// tarball size, unpacked size, the packages npm installs with it (its dependencies, no optional peer) and their
// size on disk — the numbers in each package README's "Install footprint".
//
// Prints one closing line `consumer: N passed, N failed` and exits 1 when anything failed.
import { execFile as execFileCallback } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFile = promisify(execFileCallback);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const keep = process.argv.includes('--keep');
const footprint = process.argv.includes('--footprint');
const results = [];

function record(name, ok, detail = '') {
  results.push({ name, ok, detail });
  const mark = ok ? 'ok  ' : 'FAIL';
  console.log(`consumer: ${mark} ${name}${detail && !ok ? `\n${indent(detail)}` : ''}`);
}

function indent(text) {
  return text
    .trim()
    .split('\n')
    .slice(0, 40)
    .map((line) => `      ${line}`)
    .join('\n');
}

async function run(command, args, options = {}) {
  try {
    const { stdout, stderr } = await execFile(command, args, {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 300_000,
      ...options,
    });
    return { ok: true, stdout, stderr };
  } catch (error) {
    return { ok: false, stdout: error.stdout ?? '', stderr: error.stderr ?? '', message: error.message };
  }
}

function publishedPackages() {
  return readdirSync(join(root, 'packages'))
    .map((name) => join(root, 'packages', name))
    .filter((directory) => existsSync(join(directory, 'package.json')))
    .map((directory) => ({ directory, manifest: JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) }))
    .filter(({ manifest }) => manifest.private !== true);
}

function entryPoints(manifest) {
  return Object.keys(manifest.exports ?? { '.': null })
    .filter((key) => key !== './package.json')
    .map((key) => (key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`));
}

/** Runs `task` over `items`, at most `limit` at a time, and returns the results in the order of `items`. */
async function mapLimit(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function formatSize(bytes) {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** Bytes of every file under `directory` (as `du --apparent-size`). */
function directorySize(directory) {
  let total = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) total += directorySize(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

/** Names of the packages installed under a node_modules directory, nested ones included. */
function installedPackages(nodeModules) {
  const names = [];
  if (!existsSync(nodeModules)) return names;
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const directories = entry.name.startsWith('@')
      ? readdirSync(join(nodeModules, entry.name)).map((inner) => [
          `${entry.name}/${inner}`,
          join(nodeModules, entry.name, inner),
        ])
      : [[entry.name, join(nodeModules, entry.name)]];
    for (const [name, directory] of directories) {
      if (existsSync(join(directory, 'package.json'))) names.push(name);
      names.push(...installedPackages(join(directory, 'node_modules')));
    }
  }
  return names;
}

/** Each package installed alone (with the @ops/core tarball it depends on): what a user downloads and keeps. */
async function measureFootprint(work, packages, tarballFor, npmFlags) {
  for (const { manifest } of packages) {
    const project = join(work, `footprint-${manifest.name.split('/').pop()}`);
    await mkdir(project);
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'ops-footprint', private: true, type: 'module' }),
    );
    const tarball = tarballFor(manifest.name);
    const needed = [tarball, ...(manifest.dependencies?.['@ops/core'] ? [tarballFor('@ops/core')] : [])];
    const installed = await run('npm', ['install', ...npmFlags, '--omit=peer', ...needed], { cwd: project });
    if (!installed.ok) {
      record(`footprint of ${manifest.name}`, false, installed.stderr || installed.message);
      continue;
    }
    const listing = await run('tar', ['-tvzf', tarball]);
    const unpacked = listing.stdout
      .split('\n')
      .filter(Boolean)
      .reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[2] ?? 0), 0);
    const others = installedPackages(join(project, 'node_modules')).filter((name) => name !== manifest.name);
    const onDisk = directorySize(join(project, 'node_modules'));
    console.log(
      `consumer: footprint ${manifest.name}: tarball ${formatSize(statSync(tarball).size)}, unpacked ${formatSize(unpacked)}, ` +
        `${others.length} dependencies installed (${others.sort().join(', ')}), ${formatSize(onDisk)} in node_modules`,
    );
  }
}

/**
 * One real command per CLI that has one here (beyond --help): the files it needs, then the calls, each of which must
 * exit 0 — from node_modules/.bin, no optional peer installed, as a user's first command runs.
 */
const realCommands = {
  'ops-backup': {
    files: {
      'backup-data/etc/app.conf': 'answer = 42\n',
      'ops-backup.yaml':
        'storage: { type: local, directory: backup-store }\njobs:\n  - name: config\n    sources: [{ type: files, directory: backup-data }]\n',
    },
    calls: [
      ['run', '--config', 'ops-backup.yaml'],
      ['verify', 'latest', '--job', 'config', '--level', 'full-read', '--config', 'ops-backup.yaml'],
      ['restore', 'latest', '--job', 'config', '--to-directory', 'backup-restored', '--config', 'ops-backup.yaml'],
    ],
  },
  'ops-slo': {
    files: {
      'slos.yaml': 'service: shop\nslos:\n  - { name: checkout, objective: 0.999, sli: { type: availability } }\n',
    },
    calls: [['validate', 'slos.yaml']],
  },
};

async function runRealCommands(project, installed) {
  for (const [command, { files, calls }] of Object.entries(realCommands)) {
    if (!installed.has(command)) continue;
    for (const [name, text] of Object.entries(files)) {
      await mkdir(dirname(join(project, name)), { recursive: true });
      await writeFile(join(project, name), text);
    }
    for (const args of calls) {
      const answered = await run(join(project, 'node_modules', '.bin', command), args, {
        cwd: project,
        timeout: 60_000,
      });
      record(
        `${command} ${args.join(' ')}`,
        answered.ok,
        `${answered.stdout}${answered.stderr}${answered.message ?? ''}`,
      );
    }
  }
}

/** ```ts blocks of a README, with the marker comment (if any) on the line before the fence. */
export function extractTsBlocks(markdown) {
  const blocks = [];
  const lines = markdown.split('\n');
  for (let index = 0; index < lines.length; index++) {
    if (!/^```ts\s*$/.test(lines[index])) continue;
    const marker = /<!--\s*consumer:\s*(\w+)\s*-->/.exec(lines[index - 1] ?? '')?.[1];
    const body = [];
    let end = index + 1;
    for (; end < lines.length && !/^```\s*$/.test(lines[end]); end++) body.push(lines[end]);
    blocks.push({ line: index + 1, marker, code: `${body.join('\n')}\n` });
    index = end;
  }
  return blocks;
}

const tsconfigs = {
  node16: { module: 'node16', moduleResolution: 'node16' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
};

/** Both module settings at once; `check` returns a function that records its results (so the log keeps its order). */
async function typecheckEach(check) {
  const recorders = await Promise.all(Object.keys(tsconfigs).map((kind) => check(kind)));
  for (const recordResults of recorders) recordResults();
}

/**
 * One strict `tsc` run over `files`, recorded per package: each diagnostic goes to the package `attribute` names for
 * its file (so one package's failure never hides another's); diagnostics of no package are recorded on their own.
 * Returns the function that records the results.
 */
async function typecheck(project, label, files, kind, names, attribute, { skipLibCheck = false } = {}) {
  const config = {
    compilerOptions: {
      ...tsconfigs[kind],
      target: 'es2022',
      lib: ['es2023'],
      types: ['node'],
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck,
      noEmit: true,
      isolatedModules: true,
    },
    files,
  };
  const file = join(project, `tsconfig.${label.replaceAll(' ', '-')}.${kind}.json`);
  await writeFile(file, JSON.stringify(config, null, 2));
  const result = await run(join(project, 'node_modules', '.bin', 'tsc'), ['-p', file], { cwd: project });
  const byPackage = new Map(names.map((name) => [name, []]));
  const unattributed = [];
  let current = unattributed;
  for (const line of `${result.stdout}${result.stderr}`.split('\n')) {
    if (line.trim() === '') continue;
    // A diagnostic starts at column 0 (`path(line,col): error …`); its continuation lines are indented.
    if (!/^\s/.test(line)) current = byPackage.get(attribute(line)) ?? unattributed;
    current.push(line);
  }
  return () => {
    for (const [name, lines] of byPackage)
      record(`${label} of ${name}: strict type-check (${kind})`, lines.length === 0, lines.join('\n'));
    if (!result.ok && unattributed.length > 0)
      record(`${label}: strict type-check (${kind})`, false, unattributed.join('\n') || result.message);
    if (!result.ok && [...byPackage.values()].every((lines) => lines.length === 0) && unattributed.length === 0) {
      record(`${label}: strict type-check (${kind})`, false, result.message);
    }
  };
}

async function main() {
  const started = performance.now();
  const work = await mkdtemp(join(tmpdir(), 'ops-consumer-'));
  const tarballs = join(work, 'tarballs');
  const project = join(work, 'project');
  await mkdir(tarballs);
  await mkdir(project);
  console.log(`consumer: working in ${work}`);
  try {
    const packages = publishedPackages();
    for (const { directory, manifest } of packages) {
      if (!existsSync(join(directory, 'dist')))
        throw new Error(`${manifest.name} is not built: run \`pnpm build\` first`);
    }
    // Independent steps run a few at a time (the stage stays well under five minutes); results are recorded in order.
    const packed = await mapLimit(packages, 4, ({ directory }) =>
      run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: directory }),
    );
    packages.forEach(({ manifest }, index) =>
      record(`pack ${manifest.name}`, packed[index].ok, packed[index].stderr || packed[index].message),
    );
    const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const typescriptVersion = rootManifest.devDependencies.typescript;
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'ops-consumer', private: true, type: 'module' }, null, 2),
    );
    const npmFlags = ['--no-audit', '--no-fund', '--loglevel=error', '--no-package-lock'];
    const tgz = readdirSync(tarballs).map((name) => join(tarballs, name));
    const installed = await run(
      'npm',
      ['install', ...npmFlags, ...tgz, `typescript@${typescriptVersion}`, '@types/node@^20.19.0'],
      {
        cwd: project,
      },
    );
    record('npm install of the tarballs (no optional peers)', installed.ok, installed.stderr || installed.message);
    if (!installed.ok) return;
    if (footprint) {
      const tarballFor = (name) =>
        tgz.find((file) =>
          file.endsWith(
            `/${name.replace('@', '').replace('/', '-')}-${packages.find(({ manifest }) => manifest.name === name)?.manifest.version}.tgz`,
          ),
        );
      await measureFootprint(work, packages, tarballFor, npmFlags);
    }

    // 2. Every public entry point type-checks without optional peers.
    const entries = packages.flatMap(({ manifest }) => entryPoints(manifest));
    const importsFile = join(project, 'all-entries.ts');
    await writeFile(
      importsFile,
      `${entries.map((entry, index) => `import * as entry${index} from '${entry}';`).join('\n')}\n` +
        `export const loaded: unknown[] = [${entries.map((_, index) => `entry${index}`).join(', ')}];\n`,
    );
    const names = packages.map(({ manifest }) => manifest.name);
    const declarationOwner = (line) => names.find((name) => line.startsWith(`node_modules/${name}/`));
    await typecheckEach((kind) =>
      typecheck(project, 'public entry points without optional peers', [importsFile], kind, names, declarationOwner),
    );

    // 3. ESM and CJS loading; CLIs answer --help and --version.
    const loads = entries.flatMap((entry) => [
      { name: `import('${entry}') as ESM`, args: ['--input-type=module', '-e', `await import('${entry}')`] },
      { name: `require('${entry}') as CommonJS`, args: ['-e', `require('${entry}')`] },
    ]);
    const loaded = await mapLimit(loads, 4, ({ args }) => run(process.execPath, args, { cwd: project }));
    loads.forEach(({ name }, index) => record(name, loaded[index].ok, loaded[index].stderr));
    const calls = packages.flatMap(({ manifest }) =>
      Object.keys(manifest.bin ?? {}).flatMap((command) => ['--help', '--version'].map((flag) => ({ command, flag }))),
    );
    const answers = await mapLimit(calls, 4, ({ command, flag }) =>
      run(join(project, 'node_modules', '.bin', command), [flag], { cwd: project, timeout: 30_000 }),
    );
    calls.forEach(({ command, flag }, index) => {
      const answered = answers[index];
      record(
        `${command} ${flag}`,
        answered.ok && answered.stdout.trim().length > 0,
        `${answered.stderr}${answered.message ?? ''}`,
      );
    });
    await runRealCommands(project, new Set(calls.map(({ command }) => command)));

    // 4. README examples, with the optional peers a user following the README installs.
    const peers = new Set(['@types/pg', '@types/dockerode']);
    for (const { manifest } of packages) {
      for (const [name, range] of Object.entries(manifest.peerDependencies ?? {})) peers.add(`${name}@${range}`);
    }
    const peersInstalled = await run('npm', ['install', ...npmFlags, ...peers], { cwd: project });
    record('npm install of the optional peers', peersInstalled.ok, peersInstalled.stderr || peersInstalled.message);
    if (!peersInstalled.ok) return;
    const runnable = [];
    const exampleFiles = [];
    let fragments = 0;
    for (const { directory, manifest } of packages) {
      const readme = join(directory, 'README.md');
      if (!existsSync(readme)) continue;
      const short = manifest.name.split('/').pop();
      for (const block of extractTsBlocks(readFileSync(readme, 'utf8'))) {
        if (block.marker === 'fragment') {
          fragments++;
          continue;
        }
        const file = join(project, 'readme', `${short}-line-${block.line}.mts`);
        await mkdir(dirname(file), { recursive: true });
        // `export {}` keeps each block its own module, so two blocks may declare the same names.
        await writeFile(file, `${block.code}\nexport {};\n`);
        exampleFiles.push(file);
        if (block.marker === 'run') runnable.push({ file, name: `${manifest.name} README line ${block.line}` });
      }
    }
    console.log(`consumer: ${exampleFiles.length} README blocks to check, ${fragments} marked as fragments`);
    // Our own declarations were checked in step 2; third-party ones (ioredis' redis-errors) are not ours to fix.
    const withReadme = packages
      .filter(({ directory }) => existsSync(join(directory, 'README.md')))
      .map(({ manifest }) => manifest.name);
    const exampleOwner = (line) => withReadme.find((name) => line.startsWith(`readme/${name.split('/').pop()}-line-`));
    await typecheckEach((kind) =>
      typecheck(project, 'README examples', exampleFiles, kind, withReadme, exampleOwner, { skipLibCheck: true }),
    );

    if (runnable.length > 0) {
      const emitConfig = join(project, 'tsconfig.emit.json');
      await writeFile(
        emitConfig,
        JSON.stringify({
          compilerOptions: {
            module: 'node16',
            moduleResolution: 'node16',
            target: 'es2022',
            types: ['node'],
            outDir: 'out',
            skipLibCheck: true,
          },
          files: runnable.map(({ file }) => file),
        }),
      );
      const emitted = await run(join(project, 'node_modules', '.bin', 'tsc'), ['-p', emitConfig], { cwd: project });
      record('compile runnable README examples', emitted.ok, `${emitted.stdout}${emitted.stderr}`);
      // What a README program reads from its environment: the services, a secret it must not default (health's
      // HEALTH_TOKEN), and PORT=0 so a service picks a free port.
      const environment = {
        ...process.env,
        DATABASE_URL: process.env.OPS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
        REDIS_URL: process.env.OPS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15',
        HEALTH_TOKEN: 'consumer-test-token',
        PORT: '0',
      };
      const ran = await mapLimit(runnable, 3, ({ file }) => {
        const compiled = join(project, 'out', file.slice(join(project, 'readme').length + 1).replace(/\.mts$/, '.mjs'));
        return run(process.execPath, [compiled], { cwd: project, env: environment, timeout: 120_000 });
      });
      runnable.forEach(({ name }, index) =>
        record(
          `run ${name} (ESM)`,
          ran[index].ok,
          `${ran[index].stdout}${ran[index].stderr}${ran[index].message ?? ''}`,
        ),
      );
    }
  } catch (error) {
    // Recorded, so the closing summary stays the last line and counts it.
    record('consumer stage', false, error instanceof Error ? (error.stack ?? error.message) : String(error));
  } finally {
    if (!keep) await rm(work, { recursive: true, force: true });
    const failed = results.filter((result) => !result.ok).length;
    console.log(`consumer: finished in ${Math.round((performance.now() - started) / 1000)} s`);
    console.log(`consumer: ${results.length - failed} passed, ${failed} failed`);
    process.exitCode = failed > 0 ? 1 : 0;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`consumer: ${error instanceof Error ? error.stack : String(error)}`);
    process.exitCode = 1;
  });
}
