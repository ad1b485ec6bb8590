/**
 * Helpers of the configuration tests: a YAML file on disk, and the message of the ConfigError that
 * a call throws.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { tempFolder } from './temp.js';

/**
 * Writes `yaml` to `config.yml` in a fresh temp folder, removed when the test process exits.
 * @returns the file's path
 */
export function configFile(yaml: string): string {
  const dir = tempFolder('wharf-config-');
  const path = join(dir, 'config.yml');
  writeFileSync(path, yaml);
  return path;
}

/**
 * Runs `fn`, which must throw a ConfigError.
 * @returns the error's message
 * @throws Error when `fn` returns, or an assertion error when it throws anything else
 */
export function configErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}
