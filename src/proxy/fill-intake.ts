/**
 * The upstream side of a blob fill: the upstream's body read in one pass into the fill's window (for
 * its clients and the hash) and into the upload session (for the cache), paused while the storage,
 * the hash or the fastest client is behind, and resumed with ranged GETs when it is cut (the size being known).
 */
import { finished, Readable } from 'node:stream';
import type { FillWindow } from './fill-window.js';

/** Bytes read ahead from the upstream while storage writes are under way (the upstream and the disk work at once). */
const READ_AHEAD_BYTES = 4 * 1024 * 1024;

/** What an intake reads, and where the bytes go. */
export interface IntakeSpec {
  window: FillWindow;
  /** bytes the upstream announced, if it did */
  size: number | undefined;
  /** called after every chunk taken in, with its length in bytes */
  arrived(bytes: number): void;
  /** the body from byte `at` to the end (a ranged GET), when the first one was cut */
  resume(at: number): Readable;
  /** stores the bytes that flow through `disk` in the upload session; rejects when the storage fails */
  store(disk: Readable): Promise<unknown>;
  /** aborts the fill (its timeout): a cut body is not resumed after it */
  signal: AbortSignal;
  /** told that the first body was cut at byte `at` (a ranged GET follows) */
  cut?(at: number, err: Error): void;
  /** told once every byte arrived (before the storage may have them all) */
  complete?(): void;
}

/** Reads an upstream blob body into a fill's window and its upload session. */
export class FillIntake {
  /** the body being read, paused while the storage or the fastest client is behind */
  #body: Readable | undefined;
  #storageBehind = false;
  #clientsBehind = false;
  #hashBehind = false;

  constructor(private readonly spec: IntakeSpec) {}

  /** Pauses the upstream while the clients are behind (true), or lets it go on (false). */
  clientsBehind(behind: boolean): void {
    this.#clientsBehind = behind;
    this.#flow();
  }

  /** Pauses the upstream while the hash is behind (true), or lets it go on (false). */
  hashBehind(behind: boolean): void {
    this.#hashBehind = behind;
    this.#flow();
  }

  /**
   * Reads `body` to its end (and, when cut, the rest with ranged GETs) into the window and the
   * storage, and waits for the storage to have every byte.
   * @throws the body's error (when it cannot be resumed), a size overrun, or the storage's error
   */
  async run(body: Readable): Promise<void> {
    const { window, signal } = this.spec;
    const disk = new Readable({
      highWaterMark: READ_AHEAD_BYTES,
      read: () => {
        this.#storageBehind = false;
        this.#flow();
      },
    });
    const storing = this.spec.store(disk);
    storing.catch((err: unknown) => this.#body?.destroy(err as Error));
    try {
      try {
        await this.#read(body, disk);
      } catch (err) {
        if (this.spec.size === undefined || signal.aborted) throw err;
        this.spec.cut?.(window.received, err as Error);
      }
      const size = this.spec.size;
      if (size !== undefined && window.received < size) await this.#read(this.spec.resume(window.received), disk);
      this.spec.complete?.();
      disk.push(null);
    } catch (err) {
      disk.destroy(err as Error);
      await storing.catch(() => undefined);
      throw err;
    }
    await storing;
  }

  /** Reads `body` to its end through {@link accept}, paused and resumed by {@link flow}. */
  #read(body: Readable, disk: Readable): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#body = body;
      body.on('data', (chunk: Buffer) => {
        try {
          this.#accept(chunk, disk);
        } catch (err) {
          body.destroy(err as Error);
        }
      });
      finished(body, (err) => {
        this.#body = undefined;
        if (err) reject(err);
        else resolve();
      });
      this.#flow();
    });
  }

  #accept(chunk: Buffer, disk: Readable): void {
    const { window, size } = this.spec;
    if (size !== undefined && window.received + chunk.length > size) throw new Error(`the upstream sent more than the ${size} bytes it announced`);
    window.append(chunk);
    if (!disk.push(chunk)) {
      this.#storageBehind = true;
      this.#flow();
    }
    this.spec.arrived(chunk.length);
  }

  /** Pauses or resumes the body. */
  #flow(): void {
    const body = this.#body;
    if (!body) return;
    if (this.#storageBehind || this.#clientsBehind || this.#hashBehind) body.pause();
    else if (body.isPaused()) body.resume();
  }
}
