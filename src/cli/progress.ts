/**
 * Output of the client commands: a progress bar per blob on a terminal (bytes, rate, ETA; cli-progress),
 * a summary line, `--quiet` (nothing but errors), and `--json` (one machine-readable result on stdout).
 */
import { createRequire } from 'node:module';
import type cliProgressTypes from 'cli-progress';
import type { CopyResult, TransferEvent } from '../client/image/copy.js';

/** How a command reports. */
export interface OutputOptions {
  json?: boolean;
  quiet?: boolean;
}

/** How a copy's blobs arrived, for a summary line: `3 blobs uploaded (1.2 MiB), 1 already there, 2 mounted` (`verb` names the moved ones). */
export function formatBlobCounts(b: { uploaded: number; exists: number; mounted: number; bytes: number }, verb: string): string {
  return `${b.uploaded} blobs ${verb} (${formatBytes(b.bytes)}), ${b.exists} already there, ${b.mounted} mounted`;
}

/**
 * The warning for `--platform` asked of a single image of another platform, copied as it is (as
 * crane and regctl do; docker pull refuses), or undefined.
 */
export function platformWarning(name: string, result: Pick<CopyResult, 'platformMismatch'>): string | undefined {
  const m = result.platformMismatch;
  return m && `${name} is a single-platform image for ${m.actual}, not an index: --platform ${m.wanted} matched nothing and the image was copied as it is`;
}

/** Human sizes: `12.3 MiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** The reporter of one command: progress bars (when on a terminal), then a summary or a JSON result. */
export class Reporter {
  readonly #bars: cliProgressTypes.MultiBar | undefined;
  readonly #byDigest = new Map<string, { bar: cliProgressTypes.SingleBar; started: number }>();

  constructor(
    readonly options: OutputOptions,
    private readonly out: NodeJS.WriteStream = process.stdout,
    private readonly err: NodeJS.WriteStream = process.stderr,
  ) {
    if (!options.json && !options.quiet && err.isTTY) {
      // loaded only for a terminal: scripts and pipes never pay for it
      const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof cliProgressTypes;
      this.#bars = new cliProgress.MultiBar(
        {
          stream: err,
          format: '{name} [{bar}] {percentage}% | {value_h}/{total_h} | {rate} | ETA {eta_formatted}',
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
    }
  }

  /** copyImage's `onTransfer` when bars are shown, else undefined (the transfer then skips counting). */
  get onTransfer(): ((e: TransferEvent) => void) | undefined {
    return this.#bars ? this.transfer : undefined;
  }

  /** A blob's progress event. */
  transfer = (e: TransferEvent): void => {
    if (!this.#bars) return;
    const name = e.digest.slice(7, 19);
    let entry = this.#byDigest.get(e.digest);
    const started = entry?.started ?? Date.now();
    const rate = `${formatBytes(e.done / Math.max(0.001, (Date.now() - started) / 1000))}/s`;
    const payload = { name, value_h: formatBytes(e.done), total_h: formatBytes(e.size), rate: e.phase === 'end' && e.result !== 'uploaded' ? (e.result ?? '') : rate };
    if (!entry) {
      entry = { bar: this.#bars.create(Math.max(1, e.size), 0, payload), started };
      this.#byDigest.set(e.digest, entry);
    }
    entry.bar.update(e.phase === 'end' ? Math.max(1, e.size) : e.done, payload);
  };

  /** Stops the bars; then prints the summary line (stderr) or the JSON result (stdout). */
  done(summary: string, result: unknown): void {
    this.#bars?.stop();
    if (this.options.json) this.out.write(`${JSON.stringify(result, null, 2)}\n`);
    else if (!this.options.quiet) this.err.write(`${summary}\n`);
  }

  /** Prints a warning line on stderr (`wharf: warning: ...`) unless `--quiet`. */
  warn(text: string): void {
    if (!this.options.quiet) this.err.write(`wharf: warning: ${text}\n`);
  }

  /** Prints a command's primary output (a digest, a list) unless `--json` replaces it. */
  print(text: string, result: unknown): void {
    if (this.options.json) this.out.write(`${JSON.stringify(result, null, 2)}\n`);
    else this.out.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  }

  /** Stops the bars (on failure). */
  stop(): void {
    this.#bars?.stop();
  }
}
