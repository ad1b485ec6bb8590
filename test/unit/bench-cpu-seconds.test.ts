/**
 * The scale bench's server CPU time (bench/servers.ts `cpuSeconds`): read from /proc/<pid>/stat,
 * it grows by the CPU a process spends, and is undefined for a process that is gone.
 */
import { describe, expect, it } from 'vitest';
import { cpuSeconds } from '../../bench/servers.js';

describe('cpuSeconds', () => {
  it('grows by about the CPU this process spends', async () => {
    const before = (await cpuSeconds(process.pid))!;
    const cpu = process.cpuUsage();
    let x = 0;
    while (process.cpuUsage(cpu).user < 300_000) x += Math.sqrt(x + 1); // 0.3 s of CPU
    const spent = (process.cpuUsage(cpu).user + process.cpuUsage(cpu).system) / 1e6;
    const after = (await cpuSeconds(process.pid))!;
    expect(x).toBeGreaterThan(0);
    expect(after - before).toBeGreaterThanOrEqual(spent - 0.05);
    expect(after - before).toBeLessThan(spent + 1); // other threads of this process may add a little
  });

  it('is undefined for a process that is gone', async () => {
    expect(await cpuSeconds(2 ** 22 + 12_345)).toBeUndefined();
  });
});
