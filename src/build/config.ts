/**
 * The image config edits of the instructions that need no container, stored as Docker stores them
 * (moby `builder/dockerfile/dispatchers.go`, `dispatchers_unix.go`): ENV replaces or appends
 * `KEY=value` in `Env`; CMD and ENTRYPOINT in shell form become `SHELL + [command line]` (default
 * `["/bin/sh", "-c"]`), exec form as written; ENTRYPOINT clears an inherited CMD unless this stage
 * set one; WORKDIR is joined to the previous one and cleaned; EXPOSE stores `port/proto` keys
 * (ranges expanded, tcp by default); VOLUME stores folder keys; HEALTHCHECK stores `Test` with
 * `CMD`, `CMD-SHELL` or `NONE` and durations in nanoseconds. Pure functions over the config's
 * `config` object (the OCI "ImageConfig", with Docker's extra fields).
 */
import { posix } from 'node:path';
import parseDuration from 'parse-duration';
import { jsonForm } from './dockerfile.js';

/** The container config of an image config (Docker field names, as both formats store them). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: Healthcheck;
  Shell?: string[];
  OnBuild?: string[] | null;
  ArgsEscaped?: boolean;
  [other: string]: unknown;
}

/** Docker's health check config (durations in nanoseconds). */
export interface Healthcheck {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** A config edit that cannot be made; the caller adds the Dockerfile location. */
export class ConfigEditError extends Error {
  override readonly name = 'ConfigEditError';
}

/** The shell of shell-form commands: SHELL, else `/bin/sh -c`. */
export function shellOf(c: ContainerConfig): string[] {
  return c.Shell && c.Shell.length > 0 ? c.Shell : ['/bin/sh', '-c'];
}

/** A command as stored: exec form as is, shell form after the shell (one string, as written). */
export function commandLine(c: ContainerConfig, json: string[] | undefined, text: string): string[] {
  return json ?? [...shellOf(c), text];
}

/** ENV: replaces `KEY=` entries in place, appends new ones (in the order given). */
export function setEnv(c: ContainerConfig, pairs: readonly [string, string][]): void {
  const env = [...(c.Env ?? [])];
  for (const [key, value] of pairs) {
    const entry = `${key}=${value}`;
    const i = env.findIndex((e) => e.split('=', 1)[0] === key);
    if (i >= 0) env[i] = entry;
    else env.push(entry);
  }
  c.Env = env;
}

/** The Env list as a map (later entries win), for variable substitution. */
export function envMap(c: ContainerConfig): Map<string, string> {
  const map = new Map<string, string>();
  for (const e of c.Env ?? []) {
    const eq = e.indexOf('=');
    if (eq > 0) map.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return map;
}

/** LABEL: sets each key. */
export function setLabels(c: ContainerConfig, pairs: readonly [string, string][]): void {
  c.Labels = { ...(c.Labels ?? {}) };
  for (const [key, value] of pairs) c.Labels[key] = value;
}

/** WORKDIR: a relative path is joined to the current one; the result is cleaned. */
export function workdir(current: string | undefined, requested: string): string {
  if (requested === '') throw new ConfigEditError('WORKDIR needs a path');
  return posix.isAbsolute(requested) ? posix.normalize(requested) : posix.join('/', current || '/', requested);
}

/** EXPOSE: `80`, `80/udp`, `8000-8002/tcp` to `port/proto` keys. @throws ConfigEditError */
export function exposePorts(c: ContainerConfig, specs: readonly string[]): void {
  c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
  for (const spec of specs) {
    const [range, proto = 'tcp'] = spec.toLowerCase().split('/', 2) as [string, string | undefined];
    const m = /^(\d+)(?:-(\d+))?$/.exec(range);
    if (!m || !['tcp', 'udp', 'sctp'].includes(proto)) throw new ConfigEditError(`invalid port "${spec}": write PORT[-END][/tcp|udp|sctp]`);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    if (start < 1 || end > 65535 || end < start) throw new ConfigEditError(`invalid port range "${spec}"`);
    for (let p = start; p <= end; p++) c.ExposedPorts[`${p}/${proto}`] = {};
  }
}

/** VOLUME: each path a key. */
export function addVolumes(c: ContainerConfig, paths: readonly string[]): void {
  c.Volumes = { ...(c.Volumes ?? {}) };
  for (const p of paths) {
    if (p.trim() === '') throw new ConfigEditError('VOLUME needs a path');
    c.Volumes[p] = {};
  }
}

/** CMD: sets the command (the caller records that the stage set one, for ENTRYPOINT's rule). */
export function setCmd(c: ContainerConfig, json: string[] | undefined, text: string): void {
  c.Cmd = commandLine(c, json, text);
}

/** ENTRYPOINT: sets it and clears an inherited CMD unless this stage set CMD (Docker's `cmdSet`). */
export function setEntrypoint(c: ContainerConfig, json: string[] | undefined, text: string, cmdSet: boolean): void {
  c.Entrypoint = commandLine(c, json, text);
  if (!cmdSet) c.Cmd = null;
}

/** SHELL: only the JSON form. @throws ConfigEditError */
export function setShell(c: ContainerConfig, json: string[] | undefined): void {
  if (!json || json.length === 0) throw new ConfigEditError('SHELL needs the JSON form, e.g. SHELL ["/bin/bash", "-c"]');
  c.Shell = json;
}

const HEALTH_FLAGS = { interval: 'Interval', timeout: 'Timeout', 'start-period': 'StartPeriod', 'start-interval': 'StartInterval' } as const;

/** HEALTHCHECK [flags] CMD ... | NONE. @throws ConfigEditError for an unknown flag or bad value */
export function setHealthcheck(c: ContainerConfig, flags: readonly { name: string; value: string | null }[], args: string): void {
  const [kind, ...restWords] = args.split(/\s+/);
  if (kind?.toUpperCase() === 'NONE') {
    if (restWords.length > 0 || flags.length > 0) throw new ConfigEditError('HEALTHCHECK NONE takes no arguments');
    c.Healthcheck = { Test: ['NONE'] };
    return;
  }
  if (kind?.toUpperCase() !== 'CMD') throw new ConfigEditError('write HEALTHCHECK [OPTIONS] CMD command, or HEALTHCHECK NONE');
  const command = args.slice(kind.length).trim();
  if (command === '') throw new ConfigEditError('HEALTHCHECK CMD needs a command');
  const asJson = jsonForm(command);
  const check: Healthcheck = { Test: asJson ? ['CMD', ...asJson] : ['CMD-SHELL', command] };
  for (const flag of flags) {
    if (flag.name === 'retries') {
      const n = Number(flag.value);
      if (!Number.isInteger(n) || n < 0) throw new ConfigEditError(`--retries must be a whole number, not "${flag.value}"`);
      if (n > 0) check.Retries = n;
      continue;
    }
    const field = HEALTH_FLAGS[flag.name as keyof typeof HEALTH_FLAGS];
    if (!field) throw new ConfigEditError(`HEALTHCHECK has no --${flag.name} flag (use --interval, --timeout, --start-period, --start-interval, --retries)`);
    const ms = parseDuration(flag.value ?? '');
    if (ms === null || ms === undefined || ms < 0) throw new ConfigEditError(`--${flag.name} must be a duration such as 30s, not "${flag.value}"`);
    if (ms > 0) check[field] = Math.round(ms * 1e6);
  }
  c.Healthcheck = check;
}

/** ONBUILD: records the trigger as written. @throws ConfigEditError for ONBUILD ONBUILD / FROM / MAINTAINER */
export function addOnBuild(c: ContainerConfig, expression: string): void {
  const keyword = expression.split(/\s+/, 1)[0]?.toUpperCase() ?? '';
  if (keyword === 'ONBUILD' || keyword === 'FROM' || keyword === 'MAINTAINER') throw new ConfigEditError(`${keyword} is not allowed as an ONBUILD trigger`);
  if (expression.trim() === '') throw new ConfigEditError('ONBUILD needs an instruction');
  c.OnBuild = [...(c.OnBuild ?? []), expression.trim()];
}
