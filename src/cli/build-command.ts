/** Registers `wharf build` on the `wharf` program; its modules (the registry client, the Dockerfile parser) load only when it runs. */
import type { Command } from 'commander';
import type { BuildCommandOptions } from './build.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Adds the `build` command (docs/build.md) to `program`. */
export function registerBuildCommand(program: Command): void {
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
    .addHelpText('after', '\nExamples:\n  wharf build -t localhost:5000/team/model:1 .\n  wharf build --platform linux/amd64,linux/arm64 -t registry.example.com/team/app:1.0 --build-arg VERSION=1.0 .\n  wharf build --push=false --output docker-archive:app.tar .\n')
    .action(async (context: string, opts: BuildCommandOptions) => {
      // loaded when used: the registry client and the Dockerfile parser are not the server's
      const { buildCommand, describeBuildError } = await import('./build.js');
      try {
        await buildCommand(context, opts);
      } catch (err) {
        process.stderr.write(`wharf build: ${describeBuildError(err)}\n`);
        process.exit(1);
      }
    });
}
