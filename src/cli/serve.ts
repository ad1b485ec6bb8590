/** `wharf serve [--config FILE]`: loads the configuration and serves the registry until SIGINT or SIGTERM. */
import { loadConfig } from '../config/load.js';
import { startServer } from '../server.js';

/** Time allowed after `http.draintimeout` for the rest of the stop (a GC run's end, the notification queue's last write) before the process exits anyway (ms). */
const STOP_GRACE_MS = 15_000;

/**
 * Runs the server. On SIGTERM or SIGINT it drains (see RunningServer.stop) and exits 0; a second
 * signal exits at once.
 * @param configFile a YAML file; the embedded default (`config/default.yaml`) when undefined
 * @throws ConfigError for an invalid configuration; the listen error when the address is taken
 */
export async function serve(configFile: string | undefined): Promise<void> {
  const config = loadConfig(configFile);
  const running = await startServer(config);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      running.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(0);
    }
    stopping = true;
    running.logger.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(0), config.http.draintimeout + STOP_GRACE_MS);
    force.unref();
    void running.stop().then(
      () => {
        running.logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        running.logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
