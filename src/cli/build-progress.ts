/**
 * What `wharf build` shows while it works, on stderr: on a terminal, a bar per layer while it is
 * hashed and compressed, then per blob while it is pushed (`uploading`, `exists`, `mounted`); off a
 * terminal, one line per finished step. `--quiet` shows nothing but errors; `--json` prints one
 * JSON result on stdout at the end (see the CLI).
 */
import cliProgress from 'cli-progress';
import type { BuildEvents } from '../build/env.js';
import type { TransferEvent } from '../client/image/copy.js';
import type { Digest } from '../oci/digest.js';
import { formatBytes } from './progress.js';

const short = (d: string) => d.slice(7, 19);

/** The build's progress display. */
export class BuildProgress implements BuildEvents {
  readonly #bars: cliProgress.MultiBar | undefined;
  readonly #layers = new Map<number, { label: string; bytes: number; bar?: cliProgress.SingleBar }>();
  readonly #blobs = new Map<string, cliProgress.SingleBar>();
  #next = 0;

  constructor(
    private readonly quiet: boolean,
    private readonly err: NodeJS.WriteStream = process.stderr,
  ) {
    if (!quiet && err.isTTY) {
      this.#bars = new cliProgress.MultiBar(
        { stream: err, format: '{what} [{bar}] {percentage}% | {done}/{size} | {state}', hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      );
    }
  }

  #line(text: string): void {
    if (this.quiet) return;
    if (this.#bars) this.#bars.log(`${text}\n`);
    else this.err.write(`${text}\n`);
  }

  stage(text: string): void {
    this.#line(text);
  }

  warn(text: string): void {
    if (!this.quiet) this.#line(`warning: ${text}`);
  }

  layerStarted(label: string, bytes: number): number {
    const id = ++this.#next;
    const bar = this.#bars?.create(Math.max(1, bytes), 0, { what: `layer ${label}`.slice(0, 40).padEnd(40), done: formatBytes(0), size: formatBytes(bytes), state: 'hashing + compressing' });
    this.#layers.set(id, { label, bytes, ...(bar ? { bar } : {}) });
    return id;
  }

  layerProgress(id: number, bytes: number): void {
    const layer = this.#layers.get(id);
    layer?.bar?.update(Math.min(bytes, layer.bytes), { done: formatBytes(bytes) });
  }

  layerDone(id: number, digest: Digest, cached: boolean): void {
    const layer = this.#layers.get(id);
    if (!layer) return;
    const state = `${cached ? 'unchanged (cache)' : 'built'} ${short(digest)}`;
    if (layer.bar) layer.bar.update(Math.max(1, layer.bytes), { done: formatBytes(layer.bytes), state });
    else this.#line(`layer ${layer.label} (${formatBytes(layer.bytes)}): ${state}`);
  }

  /** A blob's transfer to an output (copyImage's `onTransfer`). */
  transfer = (target: string, e: TransferEvent): void => {
    const key = `${target}|${e.digest}`;
    const state = e.phase === 'end' ? (e.result === 'uploaded' ? 'uploaded' : (e.result ?? '')) : 'uploading';
    if (!this.#bars) {
      if (e.phase === 'end') this.#line(`${target}: ${short(e.digest)} (${formatBytes(e.size)}) ${state}`);
      return;
    }
    let bar = this.#blobs.get(key);
    if (!bar) {
      bar = this.#bars.create(Math.max(1, e.size), 0, { what: `push ${short(e.digest)}`.padEnd(40), done: formatBytes(0), size: formatBytes(e.size), state });
      this.#blobs.set(key, bar);
    }
    bar.update(e.phase === 'end' ? Math.max(1, e.size) : e.done, { done: formatBytes(e.phase === 'end' ? e.size : e.done), state });
  };

  /** Stops the bars (at the end, or on failure). */
  stop(): void {
    this.#bars?.stop();
  }
}
