import { defineConfig } from 'vitest/config';

/** `npm run stress:gc`: the long stress runs (STRESS_SECONDS, default 60; STRESS_CLIENTS, default 6). */
export default defineConfig({
  test: {
    include: ['test/stress/**/*.test.ts'],
    testTimeout: 3_600_000,
  },
});
