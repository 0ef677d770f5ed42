import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * `npm run test:chaos` (scripts/real-servers/run-tests.sh with this config): processes killed, servers stalled,
 * hostile clients — against MinIO + ElasticMQ. One file at a time: the scenarios load the machine on purpose.
 */
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/chaos/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    maxWorkers: 1,
    reporters: ['default'],
  },
});
