/**
 * The admin API under `/admin/v1` (docs/admin-api.md), except garbage collection (`/admin/v1/gc`,
 * its own router): repositories with their bytes, tags with their sizes (admin-lists.ts, from the
 * admin index), deleting repositories and tags, storage totals, the index's status, and importing a
 * `docker save` or OCI layout tarball. JSON in and out; errors are the spec's JSON through
 * {@link RegistryError}. Thin: the work is in `registry/`.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import multer from 'multer';
import { RegistryError } from '../oci/errors.js';
import { parseRepositoryName, parseTag, type RepositoryName, type Tag } from '../oci/reference.js';
import { ImageImport } from '../registry/image-import.js';
import type { Registry } from '../registry/registry.js';
import { removeRepository } from '../registry/repository-removal.js';
import { adminReads } from './admin-lists.js';
import { parseAdminPath, type AdminRoute } from './admin-path.js';
import { decodePath } from './decode-path.js';
import { ClientGoneError, methodNotAllowed } from './errors.js';
import { nameUnknown, repositoryOf, type RouteDeps } from './context.js';

/** A handler of one admin endpoint: the admin API is served by express (multer parses imports). */
type Handler<R> = (req: Request, res: Response, route: R, deps: RouteDeps) => Promise<void> | void;

type MethodTable<A extends AdminRoute['area']> = Partial<Record<string, Handler<Extract<AdminRoute, { area: A }>>>>;

/** The multipart field that names the target `repository:tag`; it must come before the file. */
export const REFERENCE_FIELD = 'reference';
/** The multipart field that carries the tarball. */
export const TARBALL_FIELD = 'tarball';

/** `DELETE /admin/v1/repositories/{name}`: 202, no body; 404 NAME_UNKNOWN. */
const deleteRepository: Handler<{ area: 'repository'; name: string }> = async (_req, res, route, deps) => {
  const name = repositoryOf(route);
  if (!(await deps.registry.catalog.exists(name))) throw nameUnknown(name);
  await removeRepository(deps.registry.driver, name);
  res.status(202).end();
};

/** `DELETE /admin/v1/repositories/{name}/tags/{tag}`: untags (the manifest stays); 202, no body; 404 NAME_UNKNOWN or MANIFEST_UNKNOWN. */
const deleteTag: Handler<{ area: 'tag'; name: string; tag: string }> = async (_req, res, route, deps) => {
  const name = repositoryOf(route);
  const tag = parseTag(route.tag);
  if (!(await deps.registry.catalog.exists(name))) throw nameUnknown(name);
  try {
    await deps.registry.manifests.delete(name, { tag });
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN') throw tagUnknown(name, tag);
    throw err;
  }
  res.status(202).end();
};

/** What the storage engine hands the route for the tarball part: the import, read and not yet pushed. */
interface ReadTarball {
  image: ImageImport;
  tag: Tag;
}

/** An error the storage engine met that is not the client's fault: it must not be answered as a bad request. */
class EngineFailure extends Error {
  override readonly name = 'EngineFailure';
  constructor(readonly failure: unknown) {
    super('import failed', { cause: failure });
  }
}

/**
 * A multer storage engine that streams the tarball part straight into Wharf's storage through
 * {@link ImageImport.read}: nothing is buffered or written to a temporary file. The target comes
 * from the {@link REFERENCE_FIELD} field, which must precede the file in the form.
 */
function tarballEngine(registry: Registry, maxBytes: number): multer.StorageEngine {
  return {
    _handleFile(req, file, cb) {
      let target: { name: RepositoryName; tag: Tag };
      try {
        const fields = (req.body ?? {}) as Record<string, unknown>;
        refuseExtraFields(fields);
        target = parseTarget(fields[REFERENCE_FIELD]);
      } catch (err) {
        file.stream.resume();
        cb(err as Error);
        return;
      }
      const tooLarge = new AbortController();
      file.stream.once('limit', () => tooLarge.abort(new RegistryError('SIZE_INVALID', { status: 413, message: 'the tarball exceeds admin.import.maxbytes' })));
      const image = new ImageImport(registry, target.name, maxBytes, tooLarge.signal);
      image.read(file.stream).then(
        () => cb(null, { image, tag: target.tag } satisfies ReadTarball as Partial<Express.Multer.File>),
        (err: unknown) => cb(err instanceof RegistryError ? err : new EngineFailure(err)),
      );
    },
    _removeFile(_req, file, cb) {
      // a later part of the request failed after the tarball was read: cancel the import's upload sessions
      const read = file as unknown as Partial<ReadTarball>;
      void (read.image ? read.image.abandon() : Promise.resolve()).then(() => cb(null));
    },
  };
}

/**
 * Refuses form fields besides one {@link REFERENCE_FIELD}, before or after the file.
 * @throws RegistryError BLOB_UPLOAD_INVALID
 */
function refuseExtraFields(fields: Record<string, unknown>): void {
  const extra = Object.keys(fields).find((f) => f !== REFERENCE_FIELD) ?? (Array.isArray(fields[REFERENCE_FIELD]) ? REFERENCE_FIELD : undefined);
  if (extra === undefined) return;
  throw new RegistryError('BLOB_UPLOAD_INVALID', {
    message: `unexpected form field "${extra.slice(0, 100)}": send exactly the field "${REFERENCE_FIELD}", then the file "${TARBALL_FIELD}"`,
    detail: { field: extra.slice(0, 100) },
  });
}

/** Parses `repository[:tag]` (tag `latest` when absent). @throws RegistryError NAME_INVALID | TAG_INVALID */
function parseTarget(value: unknown): { name: RepositoryName; tag: Tag } {
  if (typeof value !== 'string' || value === '') {
    throw new RegistryError('NAME_INVALID', {
      message: `send the target as the form field "${REFERENCE_FIELD}" ("repository:tag"), before the "${TARBALL_FIELD}" file`,
      detail: { field: REFERENCE_FIELD },
    });
  }
  const colon = value.lastIndexOf(':');
  const slash = value.lastIndexOf('/');
  const hasTag = colon > slash;
  return { name: parseRepositoryName(hasTag ? value.slice(0, colon) : value), tag: parseTag(hasTag ? value.slice(colon + 1) : 'latest') };
}

/**
 * Maps what the multipart parser rejected to the spec's JSON: 413 SIZE_INVALID past the size limit,
 * 400 BLOB_UPLOAD_INVALID for a malformed form; the client going away is no error to answer.
 */
function multipartError(err: unknown, req: Request, maxBytes: number): unknown {
  if (err instanceof RegistryError) return err;
  if (err instanceof EngineFailure) return err.failure;
  if (err instanceof multer.MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') {
      return new RegistryError('SIZE_INVALID', {
        status: 413,
        message: `the tarball is larger than ${maxBytes} bytes (admin.import.maxbytes)`,
        detail: { limit: maxBytes },
      });
    }
    return new RegistryError('BLOB_UPLOAD_INVALID', {
      message: `the form is not what the import takes (${err.message}${err.field ? `: ${err.field}` : ''}): send the fields "${REFERENCE_FIELD}" then "${TARBALL_FIELD}"`,
      detail: { reason: err.code, field: err.field },
    });
  }
  if (req.destroyed && !req.complete) return new ClientGoneError();
  return new RegistryError('BLOB_UPLOAD_INVALID', { message: `malformed multipart/form-data body: ${(err as Error).message}`, detail: { reason: (err as Error).message } });
}

/**
 * `POST /admin/v1/import` (multipart/form-data: `reference` = `repository:tag`, then `tarball` = a
 * `docker save` or OCI layout tar): 201 `{repository, tag, digest, mediaType, format}`.
 */
function importHandler(deps: RouteDeps): Handler<AdminRoute> {
  const maxBytes = deps.config.admin.import.maxbytes;
  const upload = multer({
    storage: tarballEngine(deps.registry, maxBytes),
    limits: { fileSize: maxBytes, files: 1, fields: 4, parts: 5, fieldSize: 1024 },
  }).single(TARBALL_FIELD);
  return async (req, res) => {
    try {
      await new Promise<void>((resolve, reject) => upload(req, res, (err?: unknown) => (err ? reject(err as Error) : resolve())));
    } catch (err) {
      throw multipartError(err, req, maxBytes);
    }
    const read = req.file as unknown as ReadTarball | undefined;
    if (!read?.image) {
      req.resume();
      throw new RegistryError('BLOB_UPLOAD_INVALID', {
        message: `send multipart/form-data with the field "${REFERENCE_FIELD}" ("repository:tag") and then the file "${TARBALL_FIELD}"`,
        detail: { fields: [REFERENCE_FIELD, TARBALL_FIELD] },
      });
    }
    try {
      refuseExtraFields((req.body ?? {}) as Record<string, unknown>);
    } catch (err) {
      await read.image.abandon();
      throw err;
    }
    const imported = await read.image.finish(read.tag);
    res.setHeader('Docker-Content-Digest', imported.digest);
    res.status(201).json(imported);
  };
}

/** The `{name}`'s tag `tag` is not there. */
function tagUnknown(name: RepositoryName, tag: Tag): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', { message: `tag ${tag} is not in repository ${name}`, detail: { name, tag } });
}

/**
 * The admin router, to mount at {@link ADMIN_PREFIX}. Paths it does not know pass on (the `gc`
 * router, then the app's JSON 404); a known path with another method is 405 UNSUPPORTED with `Allow`.
 */
export function adminRouter(deps: RouteDeps): Router {
  const reads = adminReads(deps.registry);
  const read = <A extends AdminRoute['area']>(area: keyof typeof reads): Handler<Extract<AdminRoute, { area: A }>> => (req, res, route) => reads[area](req, res, route as never, deps.registry);
  const tables: { [A in AdminRoute['area']]: MethodTable<A> } = {
    repositories: { GET: read('repositories'), HEAD: read('repositories') },
    repository: { GET: read('repository'), HEAD: read('repository'), DELETE: deleteRepository },
    tags: { GET: read('tags'), HEAD: read('tags') },
    tag: { DELETE: deleteTag },
    storage: { GET: read('storage'), HEAD: read('storage') },
    index: { GET: read('index'), HEAD: read('index') },
    import: { POST: importHandler(deps) },
  };
  const router = Router();
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    const route = parseAdminPath(decodePath(req.path), req.method);
    if (!route) return next();
    const handler = (tables[route.area] as MethodTable<typeof route.area>)[req.method] as Handler<AdminRoute> | undefined;
    if (!handler) throw methodNotAllowed(req, Object.keys(tables[route.area]).join(', '));
    await handler(req, res, route, deps);
  });
  return router;
}
