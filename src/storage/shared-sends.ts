/**
 * Concurrent sends of one stored object share one read from the store. Pulls of one layer often come
 * together (a deployment starting on many nodes, a CI fan-out): each used to be a GET of its own from
 * S3, and the store's CPU per byte (radosgw and its OSD: about 1.8 CPU-seconds per GiB on Ceph RGW,
 * three times Wharf's relay) was paid once per pull. Here the sends of a whole object that are asked
 * while its first send has not started yet form a group: one GET, whose buffers are written to every
 * member's destination (no copy per member), a buffer refilled once every member's write of it called
 * back. Blob bytes never change, so every member gets exactly what a read of its own would give.
 *
 * A member that falls behind does not hold the others: when its write of a buffer has not called back
 * {@link SharedSends} `lagMs` after the others' did, it leaves the group and continues alone with a
 * read of its own from where it was (the buffer its pending write holds is left to it, the group
 * takes a fresh one). A member whose destination fails or closes leaves at once. A member read as a
 * stream (not sent) reads on its own. Joining is only possible before the group's first byte is sent,
 * so a later send starts a group of its own.
 */
import { Readable, type Writable } from 'node:stream';
import { withSendBudget, type BufferFiller } from './double-buffered-send.js';
import { sendStream, type DirectSend } from './file-range-stream.js';

/** A body that can hand its bytes over in fills (see s3-large-get.ts `Body`). */
export interface Fillable {
  /** Stops the stream's own reads: returns the bytes read before (in order), and the source of the rest. */
  takeFills(): { early: Buffer[]; source: BufferFiller };
  destroy(err?: Error): unknown;
}

/** Bytes each of a group's two buffers takes at most (its share of the process's send budget). */
const GROUP_BUFFER_BYTES = 1024 * 1024;

/** A member's send: its destination and the end of its `sendTo`. */
interface Member {
  dest: Writable;
  end: boolean;
  settle: (err?: Error) => void;
  onClose: () => void;
  /** counts the member's write under way as done (it closed) */
  abandon?: () => void;
  /** object offset after the last bytes given to the member's destination */
  written: number;
}

/** How a group opens reads: the whole object (shared), or bytes `start..` for a member on its own. */
export interface GroupSource {
  /** the object's size in bytes */
  length: number;
  /** the shared read of the whole object; resolves when the store answered */
  whole: () => Promise<Readable & Fillable>;
  /** a read of bytes `[start, length)` for one member */
  from: (start: number) => Promise<Readable>;
}

class Group {
  readonly #members = new Set<Member>();
  /** views not yet sent nor gone */
  #views = 0;
  #started = false;
  /** whether the group's send is scheduled (once: a member that left before it ran does not schedule a second) */
  #scheduled = false;
  #body: Promise<Readable & Fillable>;

  constructor(
    readonly source: GroupSource,
    private readonly lagMs: number,
    private readonly closed: () => void,
  ) {
    this.#body = source.whole();
    this.#body.catch(() => this.closed());
  }

  get joinable(): boolean {
    return !this.#started;
  }

  /** A view of the object for one caller; resolves when the store answered. */
  async view(): Promise<View> {
    this.#views += 1;
    try {
      await this.#body;
    } catch (err) {
      this.#views -= 1;
      throw err;
    }
    return new View(this);
  }

  /** A view went without sending (read as a stream, or destroyed): the shared read ends when none is left. */
  leave(): void {
    this.#views -= 1;
    this.#dropIfUnused();
  }

  /** Adds a send of the whole object to `dest`; the group's send starts on the next turn of the event loop. */
  send(dest: Writable, end: boolean): Promise<void> {
    this.#views -= 1;
    if (this.#started) return this.source.from(0).then((stream) => sendStream(stream, dest, end));
    return new Promise<void>((resolve, reject) => {
      const member: Member = {
        dest,
        end,
        written: 0,
        settle: (err) => {
          dest.removeListener('close', member.onClose);
          if (err) reject(err);
          else resolve();
        },
        onClose: () => {
          member.abandon?.();
          if (this.#members.delete(member)) member.settle(Object.assign(new Error('the destination closed before the whole body was written'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
        },
      };
      dest.once('close', member.onClose);
      this.#members.add(member);
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => void this.#run());
      }
    });
  }

  #dropIfUnused(): void {
    if (this.#views === 0 && this.#members.size === 0 && !this.#started) {
      this.#started = true;
      this.closed();
      void this.#body.then((body) => body.destroy());
    }
  }

  async #run(): Promise<void> {
    this.#started = true;
    this.closed();
    const body = await this.#body;
    try {
      const { early, source } = body.takeFills();
      let offset = 0;
      for (const chunk of early) {
        offset += chunk.length;
        await this.#writeAll(chunk, offset);
      }
      await withSendBudget(GROUP_BUFFER_BYTES, async (bufferBytes) => {
        const pool: Array<Buffer | undefined> = [undefined, undefined];
        const released: Array<Promise<boolean>> = [Promise.resolve(false), Promise.resolve(false)];
        for (let slot = 0; source.remaining() > 0 && this.#members.size > 0; slot ^= 1) {
          if (await released[slot]) pool[slot] = undefined; // a member that left still writes it: a fresh one
          const buffer = (pool[slot] ??= Buffer.allocUnsafeSlow(Math.min(bufferBytes, source.remaining())));
          const bytes = await source.fillInto(buffer);
          offset += bytes;
          released[slot] = this.#writeAll(buffer.subarray(0, bytes), offset);
        }
        await Promise.all(released);
      });
      for (const member of this.#members) {
        this.#members.delete(member);
        if (!member.end) member.settle();
        else member.dest.end((err?: Error | null) => member.settle(err ?? undefined));
      }
    } catch (err) {
      for (const member of this.#members) {
        this.#members.delete(member);
        member.dest.destroy();
        member.settle(err as Error);
      }
    } finally {
      body.destroy();
    }
  }

  /**
   * Writes `bytes` (ending at object offset `end`) to every member. Resolves when every member's write
   * called back, or `lagMs` after the first did: members still writing then leave and go on alone (a
   * member that left still counts here until its write calls back).
   * @returns whether a member that left still writes `bytes` (so their buffer must not be filled again)
   */
  #writeAll(bytes: Buffer, end: number): Promise<boolean> {
    const writing = new Set(this.#members);
    if (writing.size === 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wrote = (member: Member, err?: Error | null): void => {
        if (!writing.delete(member)) return;
        if (err && this.#members.delete(member)) {
          member.dest.destroy();
          member.settle(err);
        }
        if (writing.size === 0) {
          clearTimeout(timer);
          resolve(false);
        } else timer ??= setTimeout(() => resolve(this.#leaveBehind(writing)), this.lagMs);
      };
      for (const member of writing) {
        member.abandon = () => wrote(member);
        member.written = end;
        member.dest.write(bytes, (err) => wrote(member, err));
      }
    });
  }

  /**
   * Members still writing a buffer go on alone, each from the end of the last bytes it was given (the
   * next buffer may be queued behind this one). @returns true (they hold the buffer)
   */
  #leaveBehind(writing: Set<Member>): boolean {
    for (const member of writing) {
      if (!this.#members.delete(member)) continue;
      if (member.written >= this.source.length) {
        if (member.end) member.dest.end((err?: Error | null) => member.settle(err ?? undefined));
        else member.settle();
        continue;
      }
      this.source.from(member.written).then(
        (stream) => sendStream(stream, member.dest, member.end).then(() => member.settle(), (err: Error) => member.settle(err)),
        (err: Error) => {
          member.dest.destroy();
          member.settle(err);
        },
      );
    }
    return true;
  }
}

/** One caller's share of a group: sent with the group, or read as a stream on its own. */
class View extends Readable implements DirectSend {
  #used = false;
  #own: Readable | undefined;

  constructor(private readonly group: Group) {
    super();
  }

  sendTo(dest: Writable, options: { end?: boolean } = {}): Promise<void> {
    this.#used = true;
    const sent = this.group.send(dest, options.end ?? true);
    this.destroy();
    return sent;
  }

  override _read(): void {
    if (this.#own) {
      this.#own.resume();
      return;
    }
    this.#used = true;
    this.group.leave();
    this.group.source.from(0).then(
      (stream) => {
        this.#own = stream;
        stream.on('data', (chunk: Buffer) => {
          if (!this.push(chunk)) stream.pause();
        });
        stream.once('end', () => this.push(null));
        stream.once('error', (err) => this.destroy(err));
      },
      (err: Error) => this.destroy(err),
    );
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    if (!this.#used) {
      this.#used = true;
      this.group.leave();
    }
    this.#own?.destroy();
    cb(err);
  }
}

/**
 * The groups of one driver: `open` joins the group of `key` still gathering, or starts one.
 * @param lagMs how long the others wait for a member's write before it goes on alone
 */
export class SharedSends {
  readonly #gathering = new Map<string, Group>();

  constructor(private readonly lagMs = 2000) {}

  /**
   * A stream of object `key` whose `sendTo` joins the other sends of `key` asked before the group's
   * first byte was sent; resolves when the store answered.
   * @throws what `source.whole` throws (the caller reads on its own then)
   */
  open(key: string, source: GroupSource): Promise<Readable & DirectSend> {
    let group = this.#gathering.get(key);
    if (!group?.joinable) {
      const created = new Group(source, this.lagMs, () => {
        if (this.#gathering.get(key) === created) this.#gathering.delete(key);
      });
      group = created;
      this.#gathering.set(key, created);
    }
    return group.view();
  }
}
