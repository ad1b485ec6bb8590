/**
 * Where the client's credentials come from. {@link DockerCredentials} reads them as `docker` does
 * (docker/cli `cli/config/configfile`: `credHelpers[host]` wins over `credsStore`, which wins over
 * `auths`; `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`), then from containers'
 * `auth.json` (`$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`, else
 * `~/.config/containers/auth.json`), and writes them as `docker login` does.
 * {@link StaticCredentials} is the programmatic store (the pull-through cache's upstream config).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { DOCKER_HUB, normalizeRegistry } from '../../oci/image-reference.js';
import { ClientError } from '../errors.js';
import { helperErase, helperGet, helperStore } from './credential-helper.js';

/** Credentials for one registry: a username and password, an identity (refresh) token, or a bearer token. */
export interface Credentials {
  username?: string;
  password?: string;
  /** an OAuth2 refresh token (`identitytoken` in config.json), exchanged at the realm */
  identityToken?: string;
  /** a bearer token sent as is (`registrytoken`) */
  registryToken?: string;
}

/** A source of credentials, asked once per registry by the client. */
export interface CredentialStore {
  /** The credentials for `registry` (normalized, `docker.io` for Hub), or undefined for anonymous access. */
  get(registry: string): Promise<Credentials | undefined>;
}

/** Credentials given by the program, per registry (e.g. from the server's proxy configuration). */
export class StaticCredentials implements CredentialStore {
  readonly #byRegistry: Map<string, Credentials>;
  constructor(byRegistry: Record<string, Credentials>) {
    this.#byRegistry = new Map(Object.entries(byRegistry).map(([k, v]) => [normalizeRegistry(k), v]));
  }
  /** The credentials given for `registry`. */
  async get(registry: string): Promise<Credentials | undefined> {
    return this.#byRegistry.get(normalizeRegistry(registry));
  }
}

/** The part of Docker's config.json the client reads and writes (other keys are kept as they are). */
export interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

/** The key (and helper server URL) under which docker keeps a registry: Hub's legacy URL, else the host. */
export function serverKey(registry: string): string {
  return registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
}

/** Options of {@link DockerCredentials}; default: from the environment, as docker and podman find them. */
export interface DockerCredentialsOptions {
  /** the folder of config.json (default `$DOCKER_CONFIG`, else `~/.docker`) */
  configDir?: string;
  /** containers' auth.json (default `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`, else `~/.config/containers/auth.json`) */
  authFile?: string;
}

/** Where credentials are kept after a login: a helper's name, or the config file. */
export type CredentialLocation = { helper: string } | { file: string };

/** Credentials from Docker's config.json and containers' auth.json; `docker login`'s writer. */
export class DockerCredentials implements CredentialStore {
  readonly configFile: string;
  readonly authFile: string;

  constructor(options: DockerCredentialsOptions = {}) {
    const env = process.env;
    this.configFile = join(options.configDir ?? env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
    this.authFile =
      options.authFile ??
      env.REGISTRY_AUTH_FILE ??
      (env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json') : join(homedir(), '.config', 'containers', 'auth.json'));
  }

  /** credHelpers[host], else credsStore, else config.json `auths`, else auth.json `auths`. @throws ClientError CREDENTIALS */
  async get(registry: string): Promise<Credentials | undefined> {
    const config = await readConfig(this.configFile);
    const helper = helperFor(config, registry);
    if (helper) {
      const got = await helperGet(helper, serverKey(registry));
      if (got) return got.Username === '<token>' ? { identityToken: got.Secret } : { username: got.Username, password: got.Secret };
    }
    return fromAuths(config, registry) ?? fromAuths(await readConfig(this.authFile), registry);
  }

  /**
   * Stores `username`/`password` for `registry` as `docker login` does: through the registry's
   * helper (credHelpers, else credsStore), leaving `auths[key] = {}`, else base64 in `auths[key].auth`.
   * @throws ClientError CREDENTIALS
   */
  async store(registry: string, username: string, password: string): Promise<CredentialLocation> {
    const config = await readConfig(this.configFile);
    const key = serverKey(registry);
    const helper = helperFor(config, registry);
    config.auths ??= {};
    if (helper) {
      await helperStore(helper, { ServerURL: key, Username: username, Secret: password });
      config.auths[key] = {};
    } else {
      config.auths[key] = { auth: Buffer.from(`${username}:${password}`).toString('base64') };
    }
    await writeConfig(this.configFile, config);
    return helper ? { helper } : { file: this.configFile };
  }

  /** Removes the credentials of `registry` (helper and file). @returns true when some were found */
  async erase(registry: string): Promise<boolean> {
    const config = await readConfig(this.configFile);
    const helper = helperFor(config, registry);
    let found = false;
    if (helper) {
      found = (await helperGet(helper, serverKey(registry))) !== undefined;
      if (found) await helperErase(helper, serverKey(registry));
    }
    for (const key of Object.keys(config.auths ?? {})) {
      if (hostOf(key) === registry) {
        delete config.auths![key];
        found = true;
      }
    }
    if (found) await writeConfig(this.configFile, config);
    return found;
  }
}

function helperFor(config: DockerConfigFile, registry: string): string | undefined {
  const helpers = config.credHelpers ?? {};
  for (const [key, helper] of Object.entries(helpers)) if (hostOf(key) === registry) return helper;
  return config.credsStore || undefined;
}

function fromAuths(config: DockerConfigFile, registry: string): Credentials | undefined {
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (hostOf(key) !== registry || !entry) continue;
    if (entry.identitytoken) return { identityToken: entry.identitytoken };
    if (entry.registrytoken) return { registryToken: entry.registrytoken };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  }
  return undefined;
}

/** A config key as a registry (docker/cli `ConvertToHostname`: scheme and path dropped, Hub's aliases folded). */
function hostOf(key: string): string {
  try {
    return normalizeRegistry(key);
  } catch {
    return key;
  }
}

async function readConfig(file: string): Promise<DockerConfigFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ClientError('CREDENTIALS', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as DockerConfigFile) : {};
  } catch (err) {
    throw new ClientError('CREDENTIALS', `${file} is not valid JSON: ${(err as Error).message}`, { cause: err, hint: `fix or remove ${file}` });
  }
}

async function writeConfig(file: string, config: DockerConfigFile): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
  await rename(temp, file);
}
