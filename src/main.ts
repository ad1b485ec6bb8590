#!/usr/bin/env node
/** The `wharf` command: parses argv and hands over to the command in `cli/`. */
import { Command } from 'commander';
import { cacheWarm } from './cli/cache.js';
import { gc } from './cli/gc.js';
import { serve } from './cli/serve.js';
import { ConfigError } from './config/load.js';

const program = new Command()
  .name('wharf')
  .description('Wharf, a self-hosted OCI container registry')
  .showHelpAfterError();

program
  .command('serve')
  .description('serve the registry (OCI Distribution Spec v1.1) on http.addr')
  .option('-c, --config <file>', 'YAML configuration file (default: the embedded config/default.yaml)')
  .action(async (opts: { config?: string }) => serve(opts.config));

program
  .command('gc')
  .description('delete what no tag reaches (after retention rules), purge abandoned uploads; safe while the server runs')
  .option('-c, --config <file>', 'YAML configuration file (default: the embedded config/default.yaml)')
  .option('--dry-run', 'report what would be deleted, delete nothing')
  .option('--delete-untagged', 'also delete manifests that no tag reaches (as gc.deleteuntagged)')
  .option('--json', 'print the report as JSON')
  .action(async (opts: { config?: string; dryRun?: boolean; deleteUntagged?: boolean; json?: boolean }) => gc(opts));

program
  .command('cache')
  .description("a running Wharf's pull-through cache")
  .command('warm')
  .description('fetch images into the pull-through cache ahead of time (POST /admin/v1/cache/warm)')
  .argument('<references...>', 'images, e.g. python:3.12-slim ghcr.io/org/tool:1 dockerhub/library/node:22')
  .option('--registry <host>', 'the Wharf to warm, host[:port]', 'localhost:5000')
  .option('--platform <os/arch>', 'only this platform of an image index (repeatable; default all)', (v: string, all: string[]) => [...all, v], [] as string[])
  .option('--insecure', 'plain HTTP although the registry is not on loopback')
  .action(async (references: string[], opts: { registry: string; platform: string[]; insecure?: boolean }) => {
    process.exitCode = await cacheWarm(references, opts);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`wharf: invalid configuration:\n${err.message}\n`);
  } else {
    const hint = (err as { hint?: unknown }).hint;
    process.stderr.write(`wharf: ${(err as Error).message ?? String(err)}${typeof hint === 'string' ? ` (${hint})` : ''}\n`);
  }
  process.exit(1);
});
