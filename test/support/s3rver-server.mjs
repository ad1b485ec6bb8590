/**
 * s3rver (the S3 test server from npm) as a process of its own, for Wharf's tests and `npm run bench -- --s3`:
 *   node --openssl-legacy-provider test/support/s3rver-server.mjs <directory> <bucket>
 * listens on a free port of 127.0.0.1, creates <bucket>, prints one line `{"port":N}` on stdout and
 * serves until SIGTERM or SIGINT. A separate process keeps the store out of Wharf's memory figures.
 *
 * s3rver 3.7.1 has defects that real S3 (and MinIO) do not; {@link FixedStore} fixes them for the tests:
 * - a truncated ListObjects page holds the first keys in directory order, not key order, so keys are
 *   lost between pages; and with a delimiter it never looks below the first level of a folder, so a
 *   folder that holds only folders is missing from the common prefixes: listings here walk the whole
 *   prefix (from the prefix's deepest folder, so a listing costs what lies under it, not the whole bucket,
 *   as on S3) and page in key order;
 * - a delete removes the emptied folders of its fs store, racing a concurrent write into them (an
 *   uncaught ENOENT that ends the server): deletes here leave empty folders, which listings ignore;
 * - its continuation tokens are DES-encrypted, which OpenSSL 3 offers only with the legacy provider:
 *   hence `--openssl-legacy-provider`.
 * - concurrent writes of one key interleave in its file: writes of one key run one at a time here.
 * It still writes objects in place (a concurrent reader may see part of a write), which the storage
 * contract suite allows for this test store only.
 *
 * s3rver also lacks ListMultipartUploads and ListParts, which CNCF Distribution's s3 driver needs to resume
 * an upload at every PATCH and PUT (the bench runs Distribution on s3rver): {@link multipartUploads} adds them.
 */
import { promises as fs, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const S3Object = require('s3rver/lib/models/object');
const S3Error = require('s3rver/lib/models/error');

const OBJECT_SUFFIX = '._S3rver_object';

/** Every file below `dir`; files and folders deleted meanwhile are skipped. */
function* walk(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    const stats = statSync(path, { throwIfNoEntry: false });
    if (stats?.isDirectory()) yield* walk(path);
    else if (stats) yield path;
  }
}

/** s3rver's store with key-ordered listings, deletes that leave folders in place, and one write per key at a time. */
class FixedStore extends FilesystemStore {
  /** per key, the end of the last write queued */
  #writes = new Map();

  async putObject(object) {
    const id = `${object.bucket}/${object.key}`;
    const previous = this.#writes.get(id) ?? Promise.resolve();
    const current = previous.then(() => super.putObject(object));
    const settled = current.catch(() => undefined);
    this.#writes.set(id, settled);
    try {
      return await current;
    } finally {
      if (this.#writes.get(id) === settled) this.#writes.delete(id);
    }
  }

  async listObjects(bucket, { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity }) {
    const bucketPath = this.getBucketPath(bucket);
    const folders = prefix.split('/').slice(0, -1);
    const plain = folders.every((f) => f !== '' && f !== '.' && f !== '..');
    const keys = [];
    for (const file of walk(plain ? join(bucketPath, ...folders) : bucketPath)) {
      if (!file.endsWith(OBJECT_SUFFIX)) continue;
      const key = file.slice(bucketPath.length + 1, -OBJECT_SUFFIX.length);
      if (key.startsWith(prefix) && key > startAfter) keys.push(key);
    }
    keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const objectKeys = [];
    const commonPrefixes = new Set();
    let isTruncated = false;
    for (const key of keys) {
      const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      if (at !== -1) {
        commonPrefixes.add(key.slice(0, at + delimiter.length));
      } else if (objectKeys.length < maxKeys) {
        objectKeys.push(key);
      } else {
        isTruncated = true;
        break;
      }
    }
    const objects = [];
    for (const key of objectKeys) {
      const metadata = await this.getMetadata(bucket, key).catch((err) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (metadata) objects.push(new S3Object(bucket, key, null, metadata));
    }
    return { objects, commonPrefixes: [...commonPrefixes], isTruncated };
  }

  async deleteObject(bucket, key) {
    const files = ['object', 'object.md5', 'metadata.json'].map((t) => this.getResourcePath(bucket, key, t));
    await Promise.all(files.map((f) => fs.unlink(f).catch((err) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)))));
  }
}

/**
 * Koa middleware (placed just before s3rver's router) answering what s3rver does not implement of
 * multipart uploads, from its own upload folders (`<bucket>/._S3rver_uploads/<id>/`: a `key` file and
 * one file per part, `<n>` and `<n>.md5`):
 * - ListMultipartUploads, `GET /<bucket>?uploads[&prefix=]`: every upload whose key has the prefix;
 * - ListParts, `GET /<bucket>/<key>?uploadId=<id>[&part-number-marker=]`: the parts above the marker;
 * - AbortMultipartUpload, `DELETE /<bucket>/<key>?uploadId=<id>`: removes the upload's folder (204).
 * Path-style requests only; one page each (IsTruncated false); signatures are not checked.
 * @throws S3Error NoSuchUpload (404) for an unknown upload id
 */
function multipartUploads(store) {
  return async (ctx, next) => {
    const [bucket, ...rest] = ctx.path.slice(1).split('/').map(decodeURIComponent);
    const key = rest.join('/');
    const uploads = store.getResourcePath(bucket, undefined, 'uploads');
    const upload = async (id) => {
      const folder = join(uploads, id);
      const recorded = await fs.readFile(join(folder, 'key'), 'utf8').catch(() => undefined);
      if (recorded === undefined || (key && recorded !== key)) throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: id });
      return { folder, key: recorded, initiated: (await fs.stat(join(folder, 'key'))).mtime.toISOString() };
    };
    if (ctx.method === 'GET' && !key && 'uploads' in ctx.query) {
      const prefix = ctx.query.prefix ?? '';
      const ids = await fs.readdir(uploads).catch(() => []);
      const found = (await Promise.all(ids.map((id) => upload(id).then((u) => ({ id, ...u }), () => undefined)))).filter((u) => u && u.key.startsWith(prefix));
      found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      ctx.body = {
        ListMultipartUploadsResult: {
          Bucket: bucket,
          Prefix: prefix,
          MaxUploads: 1000,
          IsTruncated: false,
          Upload: found.map((u) => ({ Key: u.key, UploadId: u.id, Initiated: u.initiated, StorageClass: 'STANDARD' })),
        },
      };
      return;
    }
    const id = ctx.query.uploadId;
    if (key && typeof id === 'string' && ctx.method === 'GET') {
      const { folder } = await upload(id);
      const marker = Number(ctx.query['part-number-marker'] ?? 0);
      const numbers = (await fs.readdir(folder)).filter((f) => /^\d+$/.test(f)).map(Number).filter((n) => n > marker).sort((a, b) => a - b);
      const parts = await Promise.all(
        numbers.map(async (n) => {
          const [stats, md5] = await Promise.all([fs.stat(join(folder, String(n))), fs.readFile(join(folder, `${n}.md5`), 'utf8')]);
          return { PartNumber: n, LastModified: stats.mtime.toISOString(), ETag: JSON.stringify(md5), Size: stats.size };
        }),
      );
      ctx.body = {
        ListPartsResult: {
          Bucket: bucket,
          Key: key,
          UploadId: id,
          PartNumberMarker: marker,
          NextPartNumberMarker: numbers.at(-1) ?? marker,
          MaxParts: 1000,
          IsTruncated: false,
          Part: parts,
        },
      };
      return;
    }
    if (key && typeof id === 'string' && ctx.method === 'DELETE') {
      const { folder } = await upload(id);
      await fs.rm(folder, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    await next();
  };
}

const [directory, bucket] = process.argv.slice(2);
if (!directory || !bucket) {
  process.stderr.write('usage: node --openssl-legacy-provider test/support/s3rver-server.mjs <directory> <bucket>\n');
  process.exit(2);
}
const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket }] });
server.store = server.context.store = new FixedStore(directory);
server.middleware.splice(server.middleware.length - 1, 0, multipartUploads(server.store));
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
const stop = () => void server.close().finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
