/**
 * The delivery lease of an endpoint (`/_notifications/<endpoint>/lease` in the storage): one process
 * at a time delivers an endpoint's queue; another takes the lease over when its holder stops renewing
 * it for {@link LEASE_TTL_MS}. A taker writes the lease, waits {@link LEASE_SETTLE_MS}, and holds it
 * only when it reads back its own write (two takers at once: the last write wins, the other backs off).
 */
import type { Logger } from 'pino';
import { type StorageDriver } from '../../storage/driver.js';
import { isNotFound } from '../../storage/driver-errors.js';
import * as layout from '../../storage/layout.js';

/** How long a delivery lease lives without renewal (ms). */
export const LEASE_TTL_MS = 15_000;
/** How long a taker waits before reading back the lease it wrote (ms). */
const LEASE_SETTLE_MS = 200;

/** The lease of one endpoint, as one process sees it. */
export class DeliveryLease {
  /** true while this process holds the lease (as of the last {@link hold}) */
  held = false;
  /** ms since the epoch: when the lease this process wrote last expires */
  private until = 0;

  /** @param owner this process's id for the endpoint */
  constructor(
    private readonly storage: StorageDriver,
    private readonly endpoint: string,
    private readonly owner: string,
    private readonly logger: Logger,
  ) {}

  /** True when this process holds the lease (taking it when free, renewing it when due). @throws the storage's error */
  async hold(): Promise<boolean> {
    if (this.held && this.until - Date.now() > (LEASE_TTL_MS * 2) / 3) return true;
    const path = layout.notificationLease(this.endpoint);
    const current = await readLease(this.storage, path);
    if (current && current.owner !== this.owner && current.expiresAt > Date.now()) {
      this.held = false;
      return false;
    }
    const until = Date.now() + LEASE_TTL_MS;
    await this.storage.putContent(path, JSON.stringify({ owner: this.owner, expiresAt: until }));
    if (current?.owner !== this.owner) await new Promise((r) => setTimeout(r, LEASE_SETTLE_MS));
    this.held = (await readLease(this.storage, path))?.owner === this.owner;
    if (this.held) this.until = until;
    if (this.held && current?.owner !== this.owner) this.logger.info({ endpoint: this.endpoint }, 'delivering notifications');
    return this.held;
  }

  /** Gives the lease up (when this process holds it), so another process takes over at once. */
  async release(): Promise<void> {
    const path = layout.notificationLease(this.endpoint);
    if ((await readLease(this.storage, path).catch(() => undefined))?.owner === this.owner) await this.storage.delete(path).catch(() => undefined);
    this.held = false;
  }
}

/** The lease record of an endpoint, or undefined when there is none (or it is unreadable). @throws the storage's error */
export async function readLease(storage: StorageDriver, path: string): Promise<{ owner: string; expiresAt: number } | undefined> {
  try {
    const lease = JSON.parse((await storage.getContent(path)).toString('utf8')) as { owner?: unknown; expiresAt?: unknown };
    return typeof lease.owner === 'string' && typeof lease.expiresAt === 'number' ? { owner: lease.owner, expiresAt: lease.expiresAt } : undefined;
  } catch (err) {
    if (isNotFound(err) || err instanceof SyntaxError) return undefined;
    throw err;
  }
}
