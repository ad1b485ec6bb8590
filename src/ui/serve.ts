/**
 * Serves the web page (issue 17) at `/ui/`: `index.html`, the bundle `app.js` and `app.css` that
 * `npm run build` writes to `dist/ui/` (src/ui/bundle.ts), and `GET /ui/session` (session.ts).
 * `/` redirects to `/ui/`. Every answer carries a strict Content-Security-Policy (scripts, styles
 * and requests from this origin only, no inline script or style, no frames), so registry data that
 * reached the page as HTML could still not run; the page renders it as text anyway.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type Response } from 'express';
import type { Auth } from '../auth/auth.js';
import { RegistryError } from '../oci/errors.js';
import { sessionHandler } from './session.js';

/** Where the page is served. */
export const UI_PREFIX = '/ui';

/** The built page beside the built server: `dist/ui/` for `dist/src/ui/serve.js`. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../ui/', import.meta.url));

/** The Content-Security-Policy of every answer under `/ui/`. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The files of the page, with their media types. */
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** Headers of every answer under `/ui/`. */
function secure(res: Response): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
}

/**
 * The router of the page, mounted at the app's root: `GET /` -> 302 `/ui/`; `GET /ui` -> 301
 * `/ui/`; `GET /ui/`, `/ui/app.js`, `/ui/app.css` from `dir` (read once, they are small);
 * `GET /ui/session`. When `dir` holds no built page, `/ui/` answers 404 saying to run `npm run build`.
 */
export function uiRouter(opts: { dir?: string; auth: Auth | undefined }): Router {
  const dir = opts.dir ?? DEFAULT_UI_DIR;
  const cache = new Map<string, Promise<Buffer>>();
  const file = (name: string): Promise<Buffer> => {
    let body = cache.get(name);
    if (!body) {
      body = readFile(join(dir, name));
      body.catch(() => cache.delete(name));
      cache.set(name, body);
    }
    return body;
  };
  const router = Router();
  router.get('/', (_req, res) => res.redirect(302, `${UI_PREFIX}/`));
  router.use(UI_PREFIX, (req, res, next) => {
    secure(res);
    if (req.path === '/' && req.originalUrl === UI_PREFIX) return res.redirect(301, `${UI_PREFIX}/`);
    next();
  });
  router.get(`${UI_PREFIX}/session`, sessionHandler(opts.auth));
  router.get(`${UI_PREFIX}/:file`, serve);
  router.get(`${UI_PREFIX}/`, serve);
  async function serve(req: { params: { file?: string } }, res: Response): Promise<void> {
    const name = req.params.file ?? 'index.html';
    const type = FILES[name];
    if (!type) throw new RegistryError('UNSUPPORTED', { status: 404, message: `the web page has no file ${name.slice(0, 100)}` });
    let body: Buffer;
    try {
      body = await file(name);
    } catch {
      throw new RegistryError('UNSUPPORTED', { status: 404, message: `the web page is not built (no ${name} in ${dir}): run npm run build` });
    }
    res.setHeader('Content-Type', type);
    res.setHeader('Cache-Control', 'no-cache');
    res.status(200).end(body);
  }
  return router;
}
