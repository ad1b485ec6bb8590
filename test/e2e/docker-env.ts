/**
 * What the global setup hands the tests (through vitest's `provide`/`inject`): the Docker daemon's
 * address, or why there is none. Only test files import this module (it uses vitest's `inject`).
 */
import { inject } from 'vitest';
import { run, type RunOptions, type RunResult } from './helpers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `DOCKER_HOST` of the daemon the tests use; empty when there is none. */
    dockerHost: string;
    /** Why there is no daemon (missing tools, naming their Debian packages); empty when there is one. */
    dockerProblem: string;
  }
}

/**
 * The Docker daemon's address.
 * @throws Error naming the missing tools and their Debian packages when the global setup found none
 */
export function dockerHost(): string {
  const problem = inject('dockerProblem');
  if (problem) throw new Error(problem);
  const host = inject('dockerHost');
  if (!host) throw new Error('the e2e global setup provided no Docker daemon (is vitest run with vitest.e2e.config.ts?)');
  return host;
}

/**
 * The environment for docker commands: the suite's daemon, a private client config directory (so
 * nothing touches ~/.docker) and the legacy builder (BuildKit is not installed).
 * @param configDir a temp directory used as DOCKER_CONFIG
 */
export function dockerEnv(configDir: string): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_HOST: dockerHost(), DOCKER_CONFIG: configDir, DOCKER_BUILDKIT: '0' };
}

/**
 * A `docker` runner bound to the suite's daemon and a private client config.
 * @param configDir a temp directory used as DOCKER_CONFIG
 * @returns `docker(args, opts)`, which rejects with the command's stdout and stderr on failure
 */
export function dockerClient(configDir: string): (args: string[], opts?: RunOptions) => Promise<RunResult> {
  return async (args, opts = {}) => run('docker', args, { timeoutMs: 180_000, ...opts, env: { ...dockerEnv(configDir), ...opts.env } });
}
