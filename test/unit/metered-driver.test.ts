import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MeteredDriver } from '../../src/observability/metered-driver.js';
import { Metrics } from '../../src/observability/metrics.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { PathNotFoundError } from '../../src/storage/driver-errors.js';

describe('MeteredDriver', () => {
  it('hands commitAppended its verify option (a commit after a replica hop is verified with metrics on too)', async () => {
    const driver = new MeteredDriver(new MemoryDriver(), new Metrics());
    await driver.append('/uploads/u/data', Readable.from([Buffer.from('hello')]), { offset: 0 });
    const state = await driver.appendedState('/uploads/u/data');
    const refused = new Error('wrong digest');
    let seen = '';
    const verify = async (bytes: Readable): Promise<void> => {
      for await (const chunk of bytes) seen += String(chunk);
      throw refused;
    };
    await expect(driver.commitAppended('/uploads/u/data', '/blobs/b', state, { verify })).rejects.toBe(refused);
    expect(seen).toBe('hello');
    await expect(driver.stat('/blobs/b')).rejects.toThrow(/not found/);
  });
  it("times an action that succeeds and one that fails, and hands back the driver's own answer or error", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const driver = new MeteredDriver(new MemoryDriver(), metrics);
    await driver.putContent('/a', 'hello');
    expect((await driver.getContent('/a')).toString()).toBe('hello');
    await expect(driver.getContent('/missing')).rejects.toBeInstanceOf(PathNotFoundError);
    const text = (await metrics.render()).body;
    expect(text).toMatch(/registry_storage_action_seconds_count\{driver="[^"]+",action="GetContent"\} 2/);
    expect(text).toMatch(/registry_storage_action_seconds_count\{driver="[^"]+",action="PutContent"\} 1/);
  });
});
