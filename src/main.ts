#!/usr/bin/env node
/** The `wharf` command: parses argv and hands over to the command in `cli/`. */
import { Command } from 'commander';
import type { BuildCommandOptions } from './cli/build.js';
// commands are loaded when they run: the client commands do not load the server, nor it them

const program = new Command()
  .name('wharf')
  .description('Wharf, a self-hosted OCI container registry')
  .showHelpAfterError();

program
  .command('serve')
  .description('serve the registry (OCI Distribution Spec v1.1) on http.addr')
  .option('-c, --config <file>', 'YAML configuration file (default: the embedded config/default.yaml)')
  .action(async (opts: { config?: string }) => (await import('./cli/serve.js')).serve(opts.config));

program
  .command('gc')
  .description('delete what no tag reaches (after retention rules), purge abandoned uploads; safe while the server runs')
  .option('-c, --config <file>', 'YAML configuration file (default: the embedded config/default.yaml)')
  .option('--dry-run', 'report what would be deleted, delete nothing')
  .option('--delete-untagged', 'also delete manifests that no tag reaches (as gc.deleteuntagged)')
  .option('--json', 'print the report as JSON')
  .action(async (opts: { config?: string; dryRun?: boolean; deleteUntagged?: boolean; json?: boolean }) => (await import('./cli/gc.js')).gc(opts));

const collect = (value: string, previous: string[] = []) => [...previous, value];
program
  .command('build')
  .description('build an image from a Dockerfile without a daemon (reproducible: same inputs, same digests) and push it')
  .argument('<context>', 'the build context folder')
  .option('-f, --file <Dockerfile>', 'the Dockerfile (default: CONTEXT/Dockerfile)')
  .option('-t, --tag <ref>', 'push to this reference (repeatable)', collect)
  .option('--build-arg <name=value>', 'an ARG value (repeatable; NAME alone takes it from the environment)', collect)
  .option('--platform <os/arch[,...]>', 'platforms to build; several give an image index (default: this machine\'s)')
  .option('--target <stage>', 'the stage to build (default: the last)')
  .option('--output <where>', 'registry (the -t references, default), oci:DIR, oci-archive:FILE or docker-archive:FILE (repeatable)', collect)
  .option('--push <bool>', 'push to the -t references (--push=false: only write the --output files)', (v: string) => !/^(false|0|no)$/i.test(v), true)
  .option('--split-threshold <size>', 'files above this size get a layer of their own', '64MiB')
  .option('--verify', 'build twice (the second time without the cache) and fail if the digests differ')
  .option('--cache-dir <dir>', 'the build cache (default: $WHARF_CACHE_DIR/build or ~/.cache/wharf/build)')
  .option('--no-cache', 'hash every layer again (the cache is still written)')
  .option('--insecure', 'reach the -t registries over plain HTTP (loopback ones always are)')
  .option('--jobs <n>', 'blobs transferred at once', '4')
  .option('-q, --quiet', 'print only the digest')
  .option('--json', 'print the result (digests of the index, images, configs and layers) as JSON')
  .action(async (context: string, opts: BuildCommandOptions) => {
    // loaded when used: the registry client and the Dockerfile parser are not the server's
    const { buildCommand, describeBuildError } = await import('./cli/build.js');
    try {
      await buildCommand(context, opts);
    } catch (err) {
      process.stderr.write(`wharf build: ${describeBuildError(err)}\n`);
      process.exit(1);
    }
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof Error && err.name === 'ConfigError') {
    process.stderr.write(`wharf: invalid configuration:\n${err.message}\n`);
  } else {
    process.stderr.write(`wharf: ${(err as Error).message ?? String(err)}\n`);
  }
  process.exit(1);
});
