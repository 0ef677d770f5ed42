import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'models/tests/**/*.test.ts',
      'packages/*/tests/**/*.test.ts',
      'services/*/tests/**/*.test.ts',
      'services/*/web/tests/**/*.test.ts',
      'test/**/*.test.ts',
      'bench/tests/**/*.test.ts',
      'infra/tests/**/*.test.ts',
    ],
    // test/real and test/chaos need MinIO + ElasticMQ: `npm run test:real` / `npm run test:chaos` start them and
    // run each with its own config.
    exclude: [...configDefaults.exclude, 'test/real/**', 'test/chaos/**'],
    // Model sessions and image work are CPU-heavy on 2-core machines: generous timeouts, few workers.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
