/**
 * The S3 store of the tests and of `npm run bench -- --s3`: Ceph RGW (a real S3) wherever it is installed,
 * always in CI. Without RGW outside CI (a newcomer's `npm test` on a fresh machine) s3rver, a fake, stands
 * in, with a notice; `TEST_S3_STORE=s3rver` asks for s3rver for a quick local run, `TEST_S3_STORE=rgw`
 * insists on RGW. With `CI=true` a missing RGW fails, never falls back.
 */
import { RGW_PACKAGES, rgwInstalled, startRgw, type RgwOptions } from './rgw.js';
import { startS3rver, type RunningS3 } from './s3rver.js';

export type { RunningS3 } from './s3rver.js';
export { wharfS3Env } from './s3rver.js';

/** Which store {@link startS3} starts here: `rgw` or `s3rver`. @throws Error when RGW is required (CI, TEST_S3_STORE=rgw) but missing */
export function s3Kind(): 'rgw' | 's3rver' {
  const asked = process.env.TEST_S3_STORE;
  const ci = process.env.CI === 'true' || process.env.CI === '1';
  if (asked === 's3rver' && !ci) return 's3rver';
  if (rgwInstalled()) return 'rgw';
  if (ci || asked === 'rgw') {
    throw new Error(`the S3 tests need Ceph RGW${ci ? ' in CI' : ''}: apt-get install -y --no-install-recommends ${RGW_PACKAGES}`);
  }
  return 's3rver';
}

let warned = false;

/**
 * Starts the S3 store {@link s3Kind} names, with bucket `options.bucket` (default `wharf-test`).
 * @throws Error when the store cannot start, or RGW is required but missing
 */
export async function startS3(options: RgwOptions = {}): Promise<RunningS3> {
  if (s3Kind() === 'rgw') return startRgw(options);
  if (!warned && process.env.TEST_S3_STORE !== 's3rver') {
    warned = true;
    process.stderr.write(`[s3] Ceph RGW is not installed: the S3 tests run on s3rver, a fake (apt-get install -y --no-install-recommends ${RGW_PACKAGES})\n`);
  }
  return startS3rver(options.bucket, options.parent);
}
