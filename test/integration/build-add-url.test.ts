/**
 * ADD of a URL: only with --checksum, verified while it streams, stored as Docker stores downloads
 * (mode 0600, the URL's file name); served here by a local HTTP server.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { build } from '../../src/build/build.js';
import { parseOutputs, writeOutputs } from '../../src/build/output.js';
import { RegistryClient } from '../../src/client/index.js';
import { readLayoutImage, writeFiles } from '../support/build-fixtures.js';

const BODY = 'weights v1\n';
const SUM = `sha256:${createHash('sha256').update(BODY).digest('hex')}`;
let server: Server;
let base: string;
const dirs: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/files/model.txt') res.end(BODY);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function run(dockerfile: string) {
  const work = await mkdtemp(join(tmpdir(), 'wharf-build-url-'));
  dirs.push(work);
  await writeFiles(join(work, 'ctx'), { Dockerfile: dockerfile });
  const client = new RegistryClient();
  try {
    const result = await build({ context: join(work, 'ctx'), cacheDir: join(work, 'cache'), client });
    await writeOutputs(client, result, [], parseOutputs([`oci:${join(work, 'out')}`]), { push: false });
    return readLayoutImage(join(work, 'out'));
  } finally {
    await client.close();
  }
}

it('adds a URL whose --checksum matches, as a 0600 file named after the URL', async () => {
  const image = await run(`FROM scratch\nADD --checksum=${SUM} ${base}/files/model.txt /models/\n`);
  expect(image.layers[0]!.map((e) => `${e.path} ${e.mode.toString(8)} ${e.content ?? ''}`)).toEqual(['models/ 755 ', `models/model.txt 600 ${BODY}`]);
});

it('refuses a URL without --checksum, with a wrong one, or that does not answer 200', async () => {
  await expect(run(`FROM scratch\nADD ${base}/files/model.txt /m/\n`)).rejects.toThrow(/^Dockerfile:2: ADD .*: ADD of a URL needs --checksum=sha256:<hex>/);
  const wrong = `sha256:${'0'.repeat(64)}`;
  await expect(run(`FROM scratch\nADD --checksum=${wrong} ${base}/files/model.txt /m/\n`)).rejects.toThrow(`has digest ${SUM}, not the --checksum ${wrong}`);
  await expect(run(`FROM scratch\nADD --checksum=${SUM} ${base}/files/missing /m/\n`)).rejects.toThrow('HTTP 404');
});
