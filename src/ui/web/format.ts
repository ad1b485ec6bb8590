/** Text the page shows: sizes, times, digests, and the pull commands of an image. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Bytes in binary units: `1.5 MiB`; exact below 1 KiB. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '-';
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

/** An ISO 8601 time as `YYYY-MM-DD HH:MM:SS UTC`; `-` for none. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A duration in ms as text: `90 s`, `15 min`, `2 h`, `7 d`. */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 120) return `${Math.round(s * 10) / 10} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** `sha256:0123456789ab` (the algorithm and 12 hex digits). */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return colon < 0 ? digest : digest.slice(0, colon + 13);
}

/** A platform as `os/architecture[/variant]`. */
export function formatPlatform(p: { os?: string; architecture?: string; variant?: string }): string {
  return [p.os ?? '?', p.architecture ?? '?', ...(p.variant ? [p.variant] : [])].join('/');
}

/** One copyable command. */
export interface PullCommand {
  tool: string;
  command: string;
}

/**
 * The commands that pull `name@digest` from the registry at `host` (as the browser reached it):
 * `docker pull`, `wharf pull` (to an OCI layout folder), `skopeo copy` (to an OCI archive). Over plain HTTP, skopeo gets
 * `--src-tls-verify=false` and wharf `--insecure`; docker needs the host in its `insecure-registries`
 * (except localhost).
 */
export function pullCommands(host: string, name: string, digest: string, secure: boolean): PullCommand[] {
  const ref = `${host}/${name}@${digest}`;
  const base = name.split('/').pop() ?? name;
  return [
    { tool: 'docker', command: `docker pull ${ref}` },
    { tool: 'wharf', command: `wharf pull ${secure ? '' : '--insecure '}${ref} ./${base}` },
    { tool: 'skopeo', command: `skopeo copy ${secure ? '' : '--src-tls-verify=false '}docker://${ref} oci-archive:${base}.tar` },
  ];
}

/** A ratio (0..1) as a percentage with one decimal: `87.5 %`. */
export function formatPercent(ratio: number): string {
  return `${(Math.round(ratio * 1000) / 10).toFixed(1)} %`;
}
