import { defineConfig } from 'vitest/config';

export default defineConfig({
  // the web page's components (src/ui/web/, test/ui/) are Preact TSX
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/storage/**/*.test.ts', 'test/ui/**/*.test.{ts,tsx}'],
    testTimeout: 30_000,
  },
});
