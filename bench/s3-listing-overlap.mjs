/**
 * `node bench/s3-listing-overlap.mjs` (after `npm run build`): how many listings of one folder in flight
 * serve a tags/list-like load best on RGW. 16 loops list one folder of 200 keys for 4 s through the built
 * S3 driver and a FreshReads(k) in front of it (k = 1, 2, 4 listings in flight, 3 rounds A B C), and
 * report listings answered per second, RGW's CPU ticks (its /proc stat, 10 ms) and this process's CPU per
 * answer. Behind LISTINGS_IN_FLIGHT in src/storage/s3.ts.
 */
/* global console, URL */
import { execSync } from 'node:child_process';
import process from 'node:process';
import { readFileSync } from 'node:fs';
const R = new URL('../dist', import.meta.url).pathname;
const { S3Driver } = await import(`${R}/src/storage/s3.js`);
const { FreshReads } = await import(`${R}/src/storage/fresh-reads.js`);
const { startS3 } = await import(`${R}/test/support/s3.js`);
const s3 = await startS3({ bucket: 'wharf-list' });
const d = new S3Driver({ bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, accessKey: s3.accessKey, secretKey: s3.secretKey, rootDirectory: 'r', chunkSize: 10485760 });
for (let i = 0; i < 200; i++) await d.putContent(`/repositories/a/_manifests/tags/t${i}/current/link`, 'x');
const port = new URL(s3.endpoint).port;
const rgwPids = execSync('pgrep -x radosgw || true').toString().trim().split('\n').filter(Boolean).filter((p) => {
  const args = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
  const conf = args[args.indexOf('-c') + 1];
  try { return readFileSync(conf, 'utf8').includes(port); } catch { return false; }
});
console.log('rgw pids', rgwPids);
const cpu = () => rgwPids.reduce((a, p) => { try { const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' '); return a + Number(f[11]) + Number(f[12]); } catch { return a; } }, 0);
const res = {};
for (let round = 0; round < 3; round++) for (const k of [1, 2, 4]) {
  const fr = new FreshReads(k);
  let n = 0; const end = Date.now() + 4000; const c0 = cpu(); const u0 = process.cpuUsage();
  await Promise.all(Array.from({ length: 16 }, async () => { while (Date.now() < end) { await fr.read('x', () => d.list('/repositories/a/_manifests/tags')); n++; } }));
  const u = process.cpuUsage(u0);
  (res[k] ??= []).push(`${(n / 4).toFixed(0)}/s rgwCPUtick/req ${((cpu() - c0) / n).toFixed(2)} ownCPUus/req ${((u.user + u.system) / n).toFixed(0)}`);
  console.log(k, res[k].at(-1), 'load', readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}
console.log(JSON.stringify(res, null, 1));
for (const c of d.clients()) c.destroy();
await s3.stop();
process.exit(0);
