/**
 * What every client command shares: the options (`--insecure`, `--ca-file`, `--json`, `--quiet`),
 * the one {@link RegistryClient} of the process with Docker's credentials, Ctrl-C as an abort
 * (destinations are then cleaned up by the copy), and failures turned into one line.
 */
import { DockerCredentials } from '../client/auth/credentials.js';
import { parseLocation, type ImageLocation } from '../client/image/locations.js';
import { RegistryClient } from '../client/registry-client.js';
import { describeError, type ErrorContext } from './client-errors.js';
import { Reporter } from './progress.js';

/** Options every client command takes. */
export interface ClientOptions {
  /** reach the command's registries over plain HTTP (loopback ones always are) */
  insecure?: boolean;
  /** a PEM file of extra trusted CAs */
  caFile?: string;
  json?: boolean;
  quiet?: boolean;
  /** parallel blob transfers */
  jobs?: string;
  /** bytes per PATCH of a chunked upload, in MiB */
  chunkSize?: string;
}

/** A failure already described in one line. */
export class CommandFailure extends Error {
  override readonly name = 'CommandFailure';
}

/** What a command body gets. */
export interface CommandScope {
  client: RegistryClient;
  reporter: Reporter;
  signal: AbortSignal;
  /** names what the command works on, for the error line */
  context: ErrorContext;
}

/**
 * Runs a client command: builds the client for `registries` (insecure ones when `--insecure`),
 * aborts on SIGINT/SIGTERM, closes the client, and turns any failure into a {@link CommandFailure}.
 */
export async function runClientCommand(options: ClientOptions, registries: string[], body: (scope: CommandScope) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const reporter = new Reporter(options);
  const context: ErrorContext = { registry: registries[0] };
  let client: RegistryClient | undefined;
  try {
    client = new RegistryClient({
      credentials: new DockerCredentials(),
      insecure: options.insecure ? registries : [],
      caFile: options.caFile,
      ...(options.chunkSize ? { chunkSize: positive(options.chunkSize, '--chunk-size') * 1024 * 1024 } : {}),
    });
    await body({ client, reporter, signal: controller.signal, context });
  } catch (err) {
    reporter.stop();
    throw new CommandFailure(controller.signal.aborted ? 'interrupted: nothing was left at the destination' : describeError(err, context), { cause: err });
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await client?.close().catch(() => undefined);
  }
}

/** Parses a positive number option. @throws CommandFailure naming the option */
export function positive(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CommandFailure(`${option} must be a positive number, not "${value}"`);
  return n;
}

/** Parses a location, failing with one line. */
export function location(value: string, files = false): ImageLocation {
  try {
    return parseLocation(value, files);
  } catch (err) {
    throw new CommandFailure(describeError(err));
  }
}

/** The registries a location talks to. */
export function registriesOf(...locations: ImageLocation[]): string[] {
  return locations.flatMap((l) => (l.kind === 'registry' ? [l.ref.registry] : []));
}

/** Seconds since `start` (from `performance.now()`), one decimal. */
export function elapsed(start: number): string {
  return `${((performance.now() - start) / 1000).toFixed(1)} s`;
}
