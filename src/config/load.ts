/**
 * Loading the configuration: the embedded default (`config/default.yaml`) or the `--config` file,
 * then `WHARF_<PATH>` environment overrides (`WHARF_HTTP_ADDR` sets `http.addr`), then validation.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';
import { adaptDistributionConfig, DistributionConfigError, rememberWarnings } from './distribution.js';
import { configSchema, STORAGE_DRIVERS, type Config } from './schema.js';
import type { ConfigWarning } from './warnings.js';

/** The embedded default configuration file, shipped with the package (found from `src/` and from `dist/src/`). */
export const DEFAULT_CONFIG_FILE = findDefault(dirname(fileURLToPath(import.meta.url)));

function findDefault(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = resolve(dir, 'config/default.yaml');
    if (existsSync(candidate) || dirname(dir) === dir) return candidate;
  }
}

/** A configuration that cannot be used; the message names the key, the value and the fix. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Tree = Record<string, unknown>;

/**
 * Loads, overrides and validates the configuration.
 * @param file a YAML file; the embedded default when undefined
 * @param env the environment to read `WHARF_*` overrides from
 * @throws ConfigError when the file cannot be read or parsed, or any key is unknown or invalid
 */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  const source = file ?? DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${source}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text) ?? {};
  } catch (err) {
    throw new ConfigError(`config file ${source} is not valid YAML: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`config file ${source} must hold a YAML mapping (key: value), not ${JSON.stringify(raw)}`);
  }
  const origins = applyEnvironment(raw as Tree, env);
  return validate(raw, (path) => origins.get(path) ?? `in ${source}`);
}

/** Validates a configuration tree (already merged); `origin(path)` says where a key came from. */
export function validate(raw: unknown, origin: (path: string) => string = () => ''): Config {
  raw = structuredClone(raw);
  let warnings: ConfigWarning[] = [];
  try {
    if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) warnings = adaptDistributionConfig(raw as Tree);
  } catch (err) {
    if (err instanceof DistributionConfigError) throw new ConfigError(err.message);
    throw err;
  }
  const parsed = configSchema.safeParse(raw);
  if (parsed.success) {
    rememberWarnings(parsed.data, warnings);
    return parsed.data;
  }
  throw new ConfigError(parsed.error.issues.map((i) => describeIssue(i, raw, origin)).join('\n'));
}

/**
 * Applies `WHARF_A_B_C=value` as key `a.b.c` (keys are lowercase and hold no `_`). Setting a key of
 * one storage driver drops the file's other driver, so `WHARF_STORAGE_INMEMORY=` can replace `filesystem`.
 * @returns where each overridden key came from, for error messages
 */
function applyEnvironment(tree: Tree, env: NodeJS.ProcessEnv): Map<string, string> {
  const origins = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('WHARF_') || value === undefined) continue;
    const path = name.slice('WHARF_'.length).toLowerCase().split('_');
    if (path.some((p) => p === '')) throw new ConfigError(`environment variable ${name}: malformed; use WHARF_<SECTION>_<KEY>, e.g. WHARF_HTTP_ADDR`);
    if (path[0] === 'storage' && path[1] && (STORAGE_DRIVERS as readonly string[]).includes(path[1])) {
      const storage = (tree.storage ??= {}) as Tree;
      for (const d of STORAGE_DRIVERS) if (d !== path[1]) delete storage[d];
    }
    let node = tree;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      node = (typeof next === 'object' && next !== null ? next : (node[key] = {})) as Tree;
    }
    const leaf = path.at(-1)!;
    const isDriver = path.length === 2 && path[0] === 'storage' && (STORAGE_DRIVERS as readonly string[]).includes(leaf);
    node[leaf] = isDriver && (value === '' || value === '{}') ? {} : value;
    origins.set(path.join('.'), `from environment variable ${name}`);
  }
  return origins;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown, origin: (path: string) => string): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((k) => {
        const key = [...issue.path, k].join('.');
        return `config key "${key}" (${origin(key)}) is not a known key: remove it or check its spelling against docs/configuration.md`;
      })
      .join('\n');
  }
  const key = issue.path.join('.') || '(top level)';
  const value = issue.path.reduce<unknown>((node, k) => (node as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey], raw);
  const shown = value === undefined ? 'missing' : JSON.stringify(value);
  return `config key "${key}" = ${shown} (${origin(key)}): ${issue.message}`;
}
