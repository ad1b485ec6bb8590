/**
 * One line per failure: what failed, for which reference, and what to do ("unauthorized: run
 * wharf login HOST", "manifest unknown: no tag 1.0 in team/app"). The client's typed errors carry
 * what is needed; anything else prints its message.
 */
import { ClientError, RegistryClientError } from '../client/errors.js';
import { NetworkError } from '../client/transport.js';

/** What the command was working on, to name it in the line. */
export interface ErrorContext {
  /** the registry host the command talks to */
  registry?: string;
  /** the repository, e.g. `team/app` */
  repository?: string;
  /** the tag or digest asked for */
  reference?: string;
  /** true when the command had no credentials for the registry (a refusal then means: log in) */
  anonymous?: boolean;
}

/** The one line describing `err` (without the `wharf <command>:` prefix). */
export function describeError(err: unknown, ctx: ErrorContext = {}): string {
  if (err instanceof RegistryClientError) return registryLine(err, ctx);
  if (err instanceof ClientError) {
    const base = firstLine(err.message);
    const host = (err instanceof NetworkError ? err.host : undefined) ?? ctx.registry;
    switch (err.code) {
      case 'HOST_UNKNOWN':
        return `unknown host${host ? ` ${host}` : ''}: check the registry name (${base})`;
      case 'CONNECTION_FAILED':
        return `cannot connect to ${host ?? 'the registry'}: ${/refused/.test(base) ? 'connection refused' : base} (is the registry running, and is the address right?)`;
      case 'TLS_FAILED':
        return `${base}: pass --ca-file FILE for a private CA, or --insecure for a plain-HTTP registry`;
      default:
        return err.hint ? `${base}: ${err.hint}` : base;
    }
  }
  if ((err as { code?: string })?.code === 'ABORT_ERR') return 'interrupted';
  const fs = fileSystemLine(err);
  if (fs) return fs;
  return firstLine((err as Error)?.message ?? String(err));
}

const CHECK_PATH = "check the path; a destination's folder must exist";
/** What a file system error means and what to do, by its code. */
const FILE_SYSTEM: Record<string, [string, string]> = {
  ENOENT: ['no such file or folder', CHECK_PATH],
  ENOTDIR: ['a part of the path is not a folder', CHECK_PATH],
  EISDIR: ['is a folder', 'give a file path'],
  EEXIST: ['already exists (a file where a folder is needed?)', CHECK_PATH],
  EACCES: ['permission denied', 'choose a place you may write, or change its permissions'],
  EPERM: ['operation not permitted', 'choose a place you may write, or change its permissions'],
  EROFS: ['read-only file system', 'choose a writable place'],
  ENOSPC: ['no space left on the device', 'free some space or choose another place'],
};

/** `PATH: what (CODE): what to do` for Node's file system errors (they carry `code` and `path`). */
function fileSystemLine(err: unknown): string | undefined {
  const e = err as { code?: unknown; path?: unknown };
  const known = typeof e?.code === 'string' ? FILE_SYSTEM[e.code] : undefined;
  if (!known || typeof e.path !== 'string') return undefined;
  return `${e.path}: ${known[0]} (${e.code as string}): ${known[1]}`;
}

function registryLine(err: RegistryClientError, ctx: ErrorContext): string {
  const repo = ctx.repository ?? '';
  const host = ctx.registry ?? '';
  const code = err.registryCode;
  if (ctx.anonymous && (err.status === 401 || err.status === 403 || code === 'UNAUTHORIZED' || code === 'DENIED')) {
    return `unauthorized: ${host} needs a login${repo ? ` for ${repo}` : ''}: run wharf login ${host}`;
  }
  if (err.status === 401 || code === 'UNAUTHORIZED') return `unauthorized: ${host}${repo ? ` refused access to ${repo}` : ''}: run wharf login ${host}`.replace(/ {2,}/g, ' ');
  if (err.status === 403 || code === 'DENIED') return `denied: your account may not do this on ${repo || host}: run wharf login ${host} with an account that may`;
  if (code === 'MANIFEST_UNKNOWN' || (err.status === 404 && /manifests/.test(err.request.url))) {
    return ctx.reference && !ctx.reference.includes(':') ? `manifest unknown: no tag ${ctx.reference} in ${repo}` : `manifest unknown: no manifest ${ctx.reference ?? ''} in ${repo}`;
  }
  if (code === 'NAME_UNKNOWN') return `repository unknown: ${host} has no repository ${repo}`;
  if (code === 'BLOB_UNKNOWN' || (err.status === 404 && /blobs/.test(err.request.url))) return `blob unknown: ${repo} has no blob ${ctx.reference ?? ''}`.trimEnd();
  if (err.status === 405 && code === 'UNSUPPORTED') return `unsupported: ${host} does not allow this (${firstLine(err.message)}); deleting needs storage.delete.enabled`;
  if (err.status === 404) return `not found: ${firstLine(err.message)}`;
  return `registry error: ${firstLine(err.message)}`;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.slice(0, 500);
}
