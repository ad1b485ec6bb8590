/**
 * What the S3 driver makes of the AWS SDK's errors: a missing key is PathNotFoundError, throttling, 5xx
 * and network errors (after the SDK's retries) are StorageUnavailableError (HTTP 503), and a start-up
 * check that fails is a StorageConfigError naming the configuration key at fault.
 */
import { InvalidOffsetError, PathNotFoundError, StorageConfigError, StorageUnavailableError } from './driver-errors.js';

/** What an SDK error carries. */
export interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);

/** `SlowDown, HTTP 503`, `HTTP 503` (a HEAD has no error body to name the code), or a network error code. */
function describeError(e: SdkError): string {
  const status = e.$metadata?.httpStatusCode;
  const name = e.name && e.name !== 'Unknown' && e.name !== 'Error' ? e.name : e.code;
  return [name, status ? `HTTP ${status}` : undefined].filter(Boolean).join(', ') || 'unknown error';
}

/**
 * Maps an SDK error met on `path`: a missing key to PathNotFoundError, an unavailable store to
 * StorageUnavailableError; the driver's own errors and anything else pass unchanged.
 */
export function translateS3Error(err: unknown, path: string, driver: string): unknown {
  const e = err as SdkError;
  if (err instanceof PathNotFoundError || err instanceof InvalidOffsetError || err instanceof StorageUnavailableError) return err;
  const status = e?.$metadata?.httpStatusCode;
  if (e?.name === 'NoSuchKey' || e?.name === 'NotFound' || (status === 404 && e?.name !== 'NoSuchBucket')) {
    return new PathNotFoundError(path, driver);
  }
  const network = e?.code !== undefined && NETWORK_ERRORS.has(e.code);
  if ((status !== undefined && (status >= 500 || status === 429)) || network || e?.name === 'TimeoutError' || e?.name === 'SlowDown') {
    const attempts = e.$metadata?.attempts ?? 1;
    return new StorageUnavailableError(
      driver,
      `the S3 store ${network ? 'cannot be reached' : 'is unavailable'} (${describeError(e)}) after ${attempts} attempt${attempts === 1 ? '' : 's'}`,
      { cause: err },
    );
  }
  return err;
}

/** True when the store answered that it has no such operation (s3rver has no UploadPartCopy). */
export function isNotImplemented(err: unknown): boolean {
  return (err as SdkError)?.name === 'NotImplemented';
}

/**
 * The StorageConfigError for a failed start-up check (HeadBucket) of `bucket` at `endpoint` (AWS when absent).
 * @returns an error naming the key at fault: bucket, accesskey/secretkey, endpoint or region
 */
export function explainStartupError(err: unknown, bucket: string, endpoint: string | undefined): StorageConfigError {
  const e = err as SdkError;
  const status = e?.$metadata?.httpStatusCode;
  const name = JSON.stringify(bucket);
  const where = endpoint ? `at ${endpoint}` : 'on AWS';
  const cause = `${e?.name ?? 'Error'}${status ? `, HTTP ${status}` : ''}${e?.message && e.message !== 'UnknownError' ? `: ${e.message}` : ''}`;
  if (e?.name === 'CredentialsProviderError') {
    return new StorageConfigError('storage.s3.accesskey', `storage.s3.accesskey/secretkey: no AWS credentials found (${cause}); set both keys, or provide credentials through the AWS environment variables, shared config files or an instance role`, { cause: err });
  }
  if (status === 404 || e?.name === 'NoSuchBucket') {
    return new StorageConfigError('storage.s3.bucket', `storage.s3.bucket = ${name}: no such bucket ${where} (${cause}); create it or correct the name`, { cause: err });
  }
  if (status === 401 || status === 403) {
    return new StorageConfigError('storage.s3.accesskey', `storage.s3.accesskey/secretkey: the S3 store ${where} refused access to bucket ${name} (${cause}); check the credentials (or the AWS credential chain) and the bucket's policy`, { cause: err });
  }
  if (status === 301 || e?.name === 'PermanentRedirect') {
    return new StorageConfigError('storage.s3.region', `storage.s3.region: bucket ${name} is in another region (${cause}); set the bucket's region`, { cause: err });
  }
  if (status === undefined) {
    return new StorageConfigError('storage.s3.endpoint', `storage.s3.endpoint = ${JSON.stringify(endpoint ?? '(AWS)')}: the S3 store cannot be reached (${e?.code ?? cause}); check the URL and that the store is running`, { cause: err });
  }
  return new StorageConfigError('storage.s3', `storage.s3: the bucket ${name} ${where} cannot be used (${cause})`, { cause: err });
}
