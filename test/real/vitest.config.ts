import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * `npm run test:real` (scripts/real-servers/run-tests.sh): the cross-service suite in the harness's external mode
 * against MinIO + ElasticMQ, plus test/real, which only real servers can pass (the root config leaves it out), and the
 * security suite (test/security, also run on the embedded backend by `npm test`).
 */
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: [
      'test/e2e/**/*.test.ts',
      'test/integration/**/*.test.ts',
      'test/compat/**/*.test.ts',
      'test/real/**/*.test.ts',
      'test/security/**/*.test.ts',
    ],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
