/**
 * What every client command shares: the options (`--insecure`, `--ca-file`, `--json`, `--quiet`),
 * the one {@link RegistryClient} of the process with Docker's credentials, Ctrl-C as an abort
 * (destinations are then cleaned up by the copy), and failures turned into one line.
 */
import { DockerCredentials } from '../client/auth/credentials.js';
import { ClientError, RegistryClientError } from '../client/errors.js';
import { parseLocation, type ImageLocation } from '../client/image/locations.js';
import { DOCKER_HUB, normalizeRegistry } from '../oci/image-reference.js';
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
 * Runs `body` with a signal that SIGINT/SIGTERM abort (Ctrl-C: the copy then cleans its destinations
 * up); the client commands and `wharf build` share it.
 */
export async function interruptible<T>(body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await body(controller.signal);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/**
 * The one line for a failure of a command that used `client`: {@link describeError}, after naming
 * the registry that refused a 401/403 (copy's destination is not the context's source) and whether
 * the command had credentials for it (without: "run wharf login HOST").
 */
export async function describeFailure(err: unknown, client: RegistryClient | undefined, context: ErrorContext): Promise<string> {
  if (client && err instanceof RegistryClientError && (err.status === 401 || err.status === 403)) {
    const refusing = normalizeRegistry(new URL(err.request.url).host);
    if (refusing !== context.registry) Object.assign(context, { registry: refusing, repository: undefined, reference: undefined });
    context.anonymous = !(await client.auth.hasCredentials(refusing).catch(() => true));
  }
  return describeError(err, context) + hubHint(err, context);
}

/**
 * The registry client of a command (client commands and `wharf build`): Docker's credentials,
 * `--insecure` for `registries`, `--ca-file`, `--chunk-size`.
 * @throws CommandFailure (a bad --chunk-size) | ClientError TLS_FAILED (an unreadable --ca-file)
 */
export function commandClient(options: Pick<ClientOptions, 'insecure' | 'caFile' | 'chunkSize'>, registries: readonly string[]): RegistryClient {
  return new RegistryClient({
    credentials: new DockerCredentials(),
    insecure: options.insecure ? registries : [],
    caFile: options.caFile,
    ...(options.chunkSize ? { chunkSize: positive(options.chunkSize, '--chunk-size') * 1024 * 1024 } : {}),
  });
}

/**
 * Runs a client command: builds the client for `registries` (insecure ones when `--insecure`),
 * aborts on SIGINT/SIGTERM, closes the client, and turns any failure into a {@link CommandFailure}.
 */
export async function runClientCommand(options: ClientOptions, registries: string[], body: (scope: CommandScope) => Promise<void>): Promise<void> {
  const reporter = new Reporter(options);
  const context: ErrorContext = { registry: registries[0] };
  await interruptible(async (signal) => {
    let client: RegistryClient | undefined;
    try {
      client = commandClient(options, registries);
      await body({ client, reporter, signal, context });
    } catch (err) {
      reporter.stop();
      throw new CommandFailure(signal.aborted ? 'interrupted: nothing was left at the destination' : await describeFailure(err, client, context), { cause: err });
    } finally {
      await client?.close().catch(() => undefined);
    }
  });
}

/** Parses a positive number option. @throws CommandFailure naming the option */
export function positive(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CommandFailure(`${option} must be a positive number, not "${value}"`);
  return n;
}

/**
 * What was typed for the Docker Hub repositories this process named without a registry
 * (`team/hello:1.0` means docker.io/team/hello): when Docker Hub cannot be reached, the failure says so.
 */
const hubImplied = new Map<string, string>();

/** Parses a location, failing with one line. */
export function location(value: string, files = false): ImageLocation {
  let parsed: ImageLocation;
  try {
    parsed = parseLocation(value, files);
  } catch (err) {
    throw new CommandFailure(describeError(err));
  }
  const typed = value.replace(/^docker:\/\//, '');
  if (parsed.kind === 'registry' && parsed.ref.registry === DOCKER_HUB && !/^(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)\//i.test(typed)) {
    hubImplied.set(parsed.ref.repository, typed);
  }
  return parsed;
}

/** `; team/hello:1.0 means docker.io/team/hello: for a local registry write localhost:5000/team/hello:1.0` when Docker Hub's host is unknown and the command's reference named no registry. */
function hubHint(err: unknown, context: ErrorContext): string {
  const typed = context.repository === undefined ? undefined : hubImplied.get(context.repository);
  if (!typed || context.registry !== DOCKER_HUB || !(err instanceof ClientError) || err.code !== 'HOST_UNKNOWN') return '';
  return `; ${typed} names no registry, so it means docker.io/${context.repository}: for a local registry write localhost:5000/${typed}`;
}

/** The registries a location talks to. */
export function registriesOf(...locations: ImageLocation[]): string[] {
  return locations.flatMap((l) => (l.kind === 'registry' ? [l.ref.registry] : []));
}

/** Seconds since `start` (from `performance.now()`), one decimal. */
export function elapsed(start: number): string {
  return `${((performance.now() - start) / 1000).toFixed(1)} s`;
}
