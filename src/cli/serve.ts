/** `wharf serve [--config FILE]`: loads the configuration and serves the registry until SIGINT or SIGTERM. */
import { loadConfig } from '../config/load.js';
import { startServer } from '../server.js';

/**
 * Runs the server.
 * @param configFile a YAML file; the embedded default (`config/default.yaml`) when undefined
 * @throws ConfigError for an invalid configuration; the listen error when the address is taken
 */
export async function serve(configFile: string | undefined): Promise<void> {
  const config = loadConfig(configFile);
  const running = await startServer(config);
  const shutdown = (signal: string) => {
    running.logger.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(0), 10_000);
    force.unref();
    void running.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
