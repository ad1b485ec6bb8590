/**
 * The `wharf` program: every command with its options and help, usage errors in one line
 * (usage-errors.ts). main.ts parses argv with it; tests run it without a process of its own.
 */
import { Command } from 'commander';
import { registerBuildCommand } from './build-command.js';
import { registerClientCommands } from './client-commands.js';
import { GC_HELP } from './gc-help.js';
import { oneLineUsageErrors } from './usage-errors.js';
import { version } from './version.js';

/** Builds the `wharf` command tree (commander); each command's module loads when it runs. */
export function wharfProgram(): Command {
  const program = new Command()
    .name('wharf')
    .description('Wharf, a self-hosted OCI container registry, and its client')
    .version(version(), '-V, --version', 'print the version of wharf');

  program
    .command('serve')
    .description('serve the registry (OCI Distribution Spec v1.1) on http.addr')
    .option('-c, --config <file>', 'YAML configuration file (default: the embedded config/default.yaml)')
    .action(async (opts: { config?: string }) => (await import('./serve.js')).serve(opts.config));

  program
    .command('gc')
    .description('garbage collection: apply retention rules, delete the blobs of deleted images, purge abandoned uploads; safe while the server runs')
    .option('-c, --config <file>', 'YAML configuration file (default: the embedded config/default.yaml)')
    .option('--dry-run', 'report what would be deleted, delete nothing (exits 1 while another run holds the GC lease)')
    .option('--delete-untagged', 'also delete manifests that no tag reaches (as gc.deleteuntagged)')
    .option('--grace <duration>', 'keep what was modified within this long, for this run (default gc.grace, 1h; e.g. 0s, 10m)')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', GC_HELP)
    // loaded on use: `wharf gc` never loads the HTTP server's modules (express, multer, jsonwebtoken: memory and start-up time)
    .action(async (opts: { config?: string; dryRun?: boolean; deleteUntagged?: boolean; grace?: string; json?: boolean }) => (await import('./gc.js')).gc(opts));

  registerClientCommands(program);
  registerBuildCommand(program);

  program
    .command('cache')
    .description("a running Wharf's pull-through cache")
    .command('warm')
    .description('fetch images into the pull-through cache ahead of time (POST /admin/v1/cache/warm)')
    .argument('<references...>', 'images, e.g. python:3.12-slim ghcr.io/org/tool:1 dockerhub/library/node:22')
    .option('--registry <host>', 'the Wharf to warm, host[:port] (default localhost:5000)')
    .option('--platform <os/arch>', 'only this platform of an image index (repeatable; default all)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--insecure', 'plain HTTP although the registry is not on loopback')
    .action(async (references: string[], opts: { registry?: string; platform: string[]; insecure?: boolean }) => {
      process.exitCode = await (await import('./cache.js')).cacheWarm(references, opts);
    });

  oneLineUsageErrors(program);
  return program;
}
