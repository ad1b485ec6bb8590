/** `wharf serve [--config FILE]`: loads the configuration and serves the registry until SIGINT or SIGTERM. */
import { loadConfig } from '../config/load.js';
import { startServer } from '../server.js';

/** Time allowed after `http.draintimeout` for the rest of the stop (a GC run's end, the notification queue's last write) before the process exits anyway (ms). */
const STOP_GRACE_MS = 15_000;

/**
 * How long a repeat of the same signal counts as the first one (ms). Ctrl-C under `npm start` reaches
 * the server twice about 15 ms apart: from the terminal, which signals the whole process group, and
 * forwarded by npm. Taken as a second signal, it cut the drain short.
 */
export const SIGNAL_ECHO_MS = 1000;

/** What {@link onStopSignals} calls: `stop` on the first signal, `force` on a later one. */
export interface StopHandlers {
  stop(signal: NodeJS.Signals): void;
  force(signal: NodeJS.Signals): void;
}

/**
 * Listens for SIGINT and SIGTERM on `target`: the first calls `handlers.stop`; a later one calls
 * `handlers.force`, except the same signal again within {@link SIGNAL_ECHO_MS} of the first (an echo,
 * see there), which is ignored.
 * @param now the clock, ms
 */
export function onStopSignals(target: Pick<NodeJS.Process, 'on'>, handlers: StopHandlers, now: () => number = Date.now): void {
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  const handle = (signal: NodeJS.Signals): void => {
    if (!first) {
      first = { signal, at: now() };
      handlers.stop(signal);
    } else if (signal !== first.signal || now() - first.at >= SIGNAL_ECHO_MS) handlers.force(signal);
  };
  target.on('SIGINT', handle);
  target.on('SIGTERM', handle);
}

/**
 * Runs the server. On SIGTERM or SIGINT it drains (see RunningServer.stop) and exits 0; a second
 * signal exits at once (not the same one within {@link SIGNAL_ECHO_MS}: see there).
 * @param configFile a YAML file; the embedded default (`config/default.yaml`) when undefined
 * @throws ConfigError for an invalid configuration; the listen error when the address is taken
 */
export async function serve(configFile: string | undefined): Promise<void> {
  const config = loadConfig(configFile);
  const running = await startServer(config);
  onStopSignals(process, {
    force(signal) {
      running.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(0);
    },
    stop(signal) {
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
    },
  });
}
