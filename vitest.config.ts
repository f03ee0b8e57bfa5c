import { defineConfig } from 'vitest/config';

// One vitest run over every workspace project, so `pnpm test` prints one summary for the whole repo.
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/*'],
    reporters: ['default', './scripts/summary-reporter.ts'],
    // Integration tests share real servers (isolated per file), so keep parallelism to the machine's cores.
    maxWorkers: 2,
  },
});
