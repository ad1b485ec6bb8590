/**
 * Platforms of an image index's entries (image-spec "Image Index", `platform`): parsing
 * `os/arch[/variant]` as `--platform` takes it, and matching an entry against it. Pure.
 */
import { RegistryError } from './errors.js';

/** An image's platform: `os`, `architecture` and an optional `variant` (e.g. `linux/arm64/v8`). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/**
 * Parses `os/arch[/variant]` (`linux/amd64`, `linux/arm/v7`).
 * @throws RegistryError UNSUPPORTED with the expected form
 */
export function parsePlatform(value: string): Platform {
  const parts = value.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/i.test(p))) {
    throw new RegistryError('UNSUPPORTED', { message: `invalid platform "${value}": use os/arch[/variant], e.g. linux/amd64 or linux/arm/v7` });
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** `os/arch[/variant]` of a platform object (as found in a descriptor), or `unknown`. */
export function formatPlatform(p: Record<string, unknown> | Platform | undefined): string {
  if (!p || typeof p.os !== 'string' || typeof p.architecture !== 'string') return 'unknown';
  return [p.os, p.architecture, typeof p.variant === 'string' ? p.variant : undefined].filter(Boolean).join('/');
}

/** True when a descriptor's `platform` matches `wanted` (a wanted variant must match; an absent one matches any). */
export function platformMatches(actual: Record<string, unknown> | undefined, wanted: Platform): boolean {
  if (!actual) return false;
  if (actual.os !== wanted.os || actual.architecture !== wanted.architecture) return false;
  return wanted.variant === undefined || actual.variant === wanted.variant;
}
