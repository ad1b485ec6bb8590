#!/usr/bin/env node
/** The `wharf` command: parses argv and hands over to the command in `cli/`. */
import { Command } from 'commander';
import { ConfigError } from './config/load.js';

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
  // loaded on use: `wharf gc` never loads the HTTP server's modules (express, multer, jsonwebtoken: memory and start-up time)
  .action(async (opts: { config?: string; dryRun?: boolean; deleteUntagged?: boolean; json?: boolean }) => (await import('./cli/gc.js')).gc(opts));

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`wharf: invalid configuration:\n${err.message}\n`);
  } else {
    process.stderr.write(`wharf: ${(err as Error).message ?? String(err)}\n`);
  }
  process.exit(1);
});
