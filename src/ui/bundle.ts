/**
 * Builds the web page (src/ui/web/) into a directory with esbuild: `app.js` (Preact and the page,
 * one minified ES module), `app.css` and `index.html`. `npm run build` runs it into `dist/ui/`
 * (`node dist/src/ui/bundle.js dist/ui`); tests build into a temporary directory. Nothing is fetched
 * at run time: the bundle holds every line of JavaScript the page runs.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The repository root: the nearest directory above this module holding `src/ui/web/`. */
function sourceDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'src/ui/web/main.tsx'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find src/ui/web/main.tsx above the build script: run it from a checkout of Wharf');
    dir = up;
  }
  return join(dir, 'src/ui/web');
}

/**
 * Bundles the page into `outDir` (created when missing).
 * @returns the size in bytes of `app.js`
 * @throws Error with esbuild's messages when the page does not compile
 */
export async function bundleUi(outDir: string): Promise<number> {
  const src = sourceDir();
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(src, 'main.tsx')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
  });
  await copyFile(join(src, 'index.html'), join(outDir, 'index.html'));
  await copyFile(join(src, 'app.css'), join(outDir, 'app.css'));
  return Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? 'dist/ui');
  bundleUi(out).then(
    (bytes) => console.log(`web page: ${out}/app.js, ${bytes} bytes`),
    (err: unknown) => {
      console.error(`web page build failed: ${(err as Error).message}`);
      process.exitCode = 1;
    },
  );
}
