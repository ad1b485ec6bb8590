/**
 * One line per failure: what failed, for which reference, and what to do ("unauthorized: run
 * wharf login HOST", "manifest unknown: no tag 1.0 in team/app"). The client's typed errors carry
 * what is needed; anything else prints its message.
 */
import { ClientError, RegistryClientError } from '../client/errors.js';

/** What the command was working on, to name it in the line. */
export interface ErrorContext {
  /** the registry host the command talks to */
  registry?: string;
  /** the repository, e.g. `team/app` */
  repository?: string;
  /** the tag or digest asked for */
  reference?: string;
}

/** The one line describing `err` (without the `wharf <command>:` prefix). */
export function describeError(err: unknown, ctx: ErrorContext = {}): string {
  if (err instanceof RegistryClientError) return registryLine(err, ctx);
  if (err instanceof ClientError) {
    const base = firstLine(err.message);
    switch (err.code) {
      case 'HOST_UNKNOWN':
        return `unknown host${ctx.registry ? ` ${ctx.registry}` : ''}: check the registry name (${base})`;
      case 'CONNECTION_FAILED':
        return `cannot connect to ${ctx.registry ?? 'the registry'}: ${/refused/.test(base) ? 'connection refused' : base} (is the registry running, and is the address right?)`;
      case 'TLS_FAILED':
        return `${base}: pass --ca-file FILE for a private CA, or --insecure for a plain-HTTP registry`;
      default:
        return err.hint ? `${base}: ${err.hint}` : base;
    }
  }
  if ((err as { code?: string })?.code === 'ABORT_ERR') return 'interrupted';
  return firstLine((err as Error)?.message ?? String(err));
}

function registryLine(err: RegistryClientError, ctx: ErrorContext): string {
  const repo = ctx.repository ?? '';
  const host = ctx.registry ?? '';
  const code = err.registryCode;
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
