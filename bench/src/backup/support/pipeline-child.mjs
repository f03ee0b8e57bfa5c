// One @ops/backup run in a fresh process, as a user's command runs it (Node start and module loading included),
// for the pipeline-vs-shell benchmark. Prints one JSON line: the outcome, the time breakdown (onTiming), peak RSS.
// Usage: node pipeline-child.mjs backup <json options> | restore <json options>
//        node pipeline-child.mjs serve: a running process, as a service that embeds @ops/backup is. Reads one
//        {"command", "options"} JSON line at a time from stdin, runs it and answers with one JSON line.
const startup = performance.now(); // process start → here: Node's own start and this script's loading
const { createLocalStorage, createPostgresSource, findBackup, restorePostgres, runBackup } =
  await import('@ops/backup');
const imported = performance.now(); // the package's modules (and @ops/core's) loaded

/** Runs one backup or restore; resolves with what the benchmark records of it. */
async function runOnce(command, options) {
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  const started = performance.now();
  const timings = [];
  let outcome;
  try {
    if (command === 'backup') {
      const manifest = await runBackup({
        job: 'bench',
        storage: createLocalStorage({ directory: options.storage }),
        sources: [
          createPostgresSource({
            connectionString: options.connectionString,
            ...(options.dumpCompressionLevel === undefined
              ? {}
              : { dumpCompressionLevel: options.dumpCompressionLevel }),
            ...(options.compressInsideDump === undefined ? {} : { compressInsideDump: options.compressInsideDump }),
            ...(options.bufferDumpOutput === undefined ? {} : { bufferDumpOutput: options.bufferDumpOutput }),
            ...(options.format ? { format: options.format, parallelJobs: options.parallelJobs ?? 1 } : {}),
          }),
        ],
        compression: options.compression,
        encryption: { recipients: [options.recipient] },
        verifyStored: options.verifyStored,
        onTiming: (timing) => timings.push(timing),
      });
      outcome = { state: manifest.state, error: manifest.error, id: manifest.id, storedBytes: manifest.storedBytes };
    } else if (command === 'restore') {
      const storage = createLocalStorage({ directory: options.storage });
      const backup = await findBackup({ storage, id: options.id, job: 'bench' });
      await restorePostgres({
        storage,
        backup,
        decryption: { identities: [options.identity] },
        target: options.target,
        create: true,
        ...(options.parallelJobs ? { parallelJobs: options.parallelJobs } : {}),
        ...(options.loadFrom ? { loadFrom: options.loadFrom } : {}),
        onTiming: (timing) => timings.push(timing),
      });
      outcome = { state: 'completed' };
    } else {
      throw new Error(`unknown command ${JSON.stringify(command)}: backup, restore or serve`);
    }
  } finally {
    clearInterval(sampler);
  }
  const usage = process.resourceUsage();
  return {
    ...outcome,
    startupMs: startup,
    importMs: imported - startup,
    runMs: performance.now() - started,
    timings,
    maxRssBytes: usage.maxRSS * 1024,
    sampledPeakRssBytes: peakRss,
    cpuUserMs: usage.userCPUTime / 1000,
    cpuSystemMs: usage.systemCPUTime / 1000,
  };
}

const [command, json] = process.argv.slice(2);
if (command === 'serve') {
  const { createInterface } = await import('node:readline');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === '') continue;
    const request = JSON.parse(line);
    const result = await runOnce(request.command, request.options).catch((error) => ({
      state: 'failed',
      error: String(error?.stack ?? error),
    }));
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
} else {
  process.stdout.write(`${JSON.stringify(await runOnce(command, JSON.parse(json)))}\n`);
}
