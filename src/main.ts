#!/usr/bin/env node
/** The `wharf` command: parses argv and hands over to the command in `cli/`. */
import { Command } from 'commander';
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

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`wharf: invalid configuration:\n${err.message}\n`);
  } else {
    process.stderr.write(`wharf: ${(err as Error).message ?? String(err)}\n`);
  }
  process.exit(1);
});
