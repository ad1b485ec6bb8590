/**
 * COPY and ADD: flags, the tree to read (the build context, an earlier stage, an image), the
 * entries (copy-plan.ts), ADD's extras (a local tar is extracted; a URL is fetched only with
 * `--checksum`, verified while it streams), then the layers: one per instruction, and one more per
 * file above the split threshold, so a large file keeps its layer digest whatever changes beside it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest } from '../oci/digest.js';
import { DOCKER_LAYER_GZIP, OCI_LAYER_GZIP } from '../oci/media-types.js';
import { CopyError, dedupe, findSources, normalizeDest, planCopy, withParents } from './copy-plan.js';
import type { BuildEnv } from './env.js';
import { BuildError } from './errors.js';
import type { Instruction } from './dockerfile.js';
import { isoTime } from './image.js';
import { openBlob } from './layer.js';
import { MemoryTree } from './memory-tree.js';
import { expandWord, expandWords, type Variables } from './shell-words.js';
import { addKnownDir, type StageImage } from './state.js';
import type { LayerEntry, TreeNode } from './tree.js';

const COPY_FLAGS = ['from', 'chown', 'chmod', 'link'];
const ADD_FLAGS = ['chown', 'chmod', 'link', 'checksum'];

/** Runs one COPY or ADD on `state`. @throws BuildError naming the instruction */
export async function copyStep(env: BuildEnv, state: StageImage, ins: Instruction, vars: Variables, escape: string): Promise<void> {
  const at = ins.at;
  const fail = (message: string, hint?: string, cause?: unknown) => new BuildError(message, { at, hint, cause });
  const flags = new Map<string, string | null>();
  for (const f of ins.flags) {
    if (!(ins.keyword === 'COPY' ? COPY_FLAGS : ADD_FLAGS).includes(f.name)) throw fail(`${ins.keyword} has no --${f.name} flag`, `use ${(ins.keyword === 'COPY' ? COPY_FLAGS : ADD_FLAGS).map((n) => `--${n}`).join(', ')}`);
    flags.set(f.name, f.value === null ? null : expandWord(f.value, vars, escape));
  }
  const words = ins.json ? ins.json.map((w) => expandWord(w, vars, escape)) : expandWords(ins.args, vars, escape);
  if (words.length < 2) throw fail(`${ins.keyword} needs a source and a destination`);
  const dest = words.at(-1)!;
  const sources = words.slice(0, -1);
  const chown = flags.has('chown') ? parseChown(flags.get('chown') ?? '', fail) : undefined;
  const chmod = flags.has('chmod') ? parseChmod(flags.get('chmod') ?? '', fail) : undefined;
  const workdir = state.config.config.WorkingDir || '/';
  const base = { dest, workdir, chown, chmod, isKnownDir: (p: string) => state.knownDirs.has(p) };
  let entries: LayerEntry[];
  try {
    if (ins.keyword === 'ADD') entries = await addEntries(env, sources, base, flags.get('checksum') ?? undefined, fail);
    else {
      const from = flags.get('from');
      if (from === '' || from === null) throw fail('--from needs a stage name, a stage number or an image');
      const tree = from !== undefined ? await env.treeOf(from, state.platform, at) : env.context;
      entries = await planCopy(tree, { sources, ...base, preserveOwnership: from !== undefined && from !== null && !chown });
    }
  } catch (err) {
    if (err instanceof CopyError) throw fail(err.message, err.hint, err);
    throw err;
  }
  const large = entries.filter((e) => e.type === 'file' && e.size > env.splitThreshold).sort((a, b) => (a.path < b.path ? -1 : 1));
  const rest = entries.filter((e) => !large.includes(e));
  const createdBy = `${ins.keyword} ${ins.flags.map((f) => `--${f.name}${f.value === null ? '' : `=${f.value}`} `).join('')}${ins.args}`;
  const groups = [...(rest.length > 0 || large.length === 0 ? [{ entries: rest, note: '' }] : []), ...large.map((e) => ({ entries: [e], note: ` (/${e.path}: a layer of its own)` }))];
  for (const group of groups) await appendLayer(env, state, group.entries.length > 0 ? withParents(group.entries) : [], `${createdBy}${group.note}`);
  state.ownEntries.push(...entries);
  for (const e of entries) addKnownDir(state, posix.dirname(`/${e.path}`));
  for (const e of entries) if (e.type === 'dir') addKnownDir(state, `/${e.path}`);
}

/** Appends the layer of `entries` (or an empty history entry when there are none) to `state`. */
export async function appendLayer(env: BuildEnv, state: StageImage, entries: LayerEntry[], createdBy: string): Promise<void> {
  const created = isoTime(env.epoch);
  if (entries.length === 0) {
    state.config.history.push({ created, created_by: createdBy, comment: 'wharf build', empty_layer: true });
    return;
  }
  const files = entries.filter((e) => e.type !== 'dir');
  const label = files.length === 1 ? `/${files[0]!.path}` : `${files.length} files`;
  const total = entries.reduce((n, e) => n + e.size, 0);
  const id = env.events.layerStarted(label, total);
  const options = { mtime: env.epoch, blobDir: env.cache.blobDir, signal: env.signal, onProgress: (n: number) => env.events.layerProgress(id, n) };
  const blob = await env.cache.layer(entries, options);
  env.events.layerDone(id, blob.digest, blob.cached);
  const digest: Digest = blob.digest;
  state.layers.push({
    desc: { mediaType: state.format === 'docker' ? DOCKER_LAYER_GZIP : OCI_LAYER_GZIP, digest, size: blob.size },
    open: async (offset, length) => {
      await env.cache.restore(entries, blob, options);
      return openBlob(env.cache.blobDir, digest, offset, length) as never;
    },
  });
  state.config.rootfs.diff_ids.push(blob.diffId);
  state.config.history.push({ created, created_by: createdBy, comment: 'wharf build' });
}

function parseChown(value: string, fail: (m: string, h?: string) => BuildError): { uid: number; gid: number } {
  const [user = '', group] = value.split(':', 2);
  const id = (s: string, what: string): number => {
    if (s === 'root') return 0;
    if (!/^\d+$/.test(s)) throw fail(`--chown=${value}: ${what} "${s}" is a name`, 'give numeric ids (--chown=1000:1000): wharf build does not read the image\'s /etc/passwd');
    return Number(s);
  };
  const uid = id(user, 'user');
  return { uid, gid: group === undefined || group === '' ? uid : id(group, 'group') };
}

function parseChmod(value: string, fail: (m: string, h?: string) => BuildError): number {
  if (!/^[0-7]{1,4}$/.test(value)) throw fail(`--chmod=${value} is not an octal mode`, 'write it like --chmod=755 or --chmod=0644');
  return parseInt(value, 8);
}

type PlanBase = { dest: string; workdir: string; chown?: { uid: number; gid: number }; chmod?: number; isKnownDir: (p: string) => boolean };

/** ADD: URLs (with --checksum), local tar archives (extracted), other local files (as COPY). */
async function addEntries(env: BuildEnv, sources: string[], base: PlanBase, checksum: string | undefined, fail: (m: string, h?: string, c?: unknown) => BuildError): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  const destDir = normalizeDest(base.workdir, base.dest);
  const plain: string[] = [];
  for (const source of sources) {
    if (/^(git@|git:\/\/)|\.git(#.*)?$/.test(source)) throw fail(`ADD of a Git repository (${source}) is not supported`, 'clone it into the build context and COPY it');
    if (/^https?:\/\//.test(source)) {
      if (!checksum) throw fail(`ADD of a URL needs --checksum=sha256:<hex>`, 'wharf build only adds remote files whose content is pinned (reproducible builds)');
      const tree = new MemoryTree(`the download of ${source}`, await mkdtemp(join(env.scratchDir, 'url-')));
      const name = posix.basename(new URL(source).pathname) || 'download';
      await download(source, checksum, tree, name, env.signal, fail);
      entries.push(...(await planCopy(tree, { ...base, sources: [name] })));
      continue;
    }
    const [match] = await findSources(env.context, [source]).catch(() => [undefined]);
    const archive = match && match.node.type === 'file' && !/[*?[]/.test(source) ? await archiveKind(match.node) : undefined;
    if (archive === 'tar' || archive === 'gzip') {
      const tree = new MemoryTree(`the archive ${source}`, await mkdtemp(join(env.scratchDir, 'add-')));
      await tree.applyTar(createReadStream(match!.node.content!.path), { gzip: archive === 'gzip', whiteouts: false, signal: env.signal });
      entries.push(...(await planCopy(tree, { ...base, dest: `${destDir.path}/`, sources: ['.'], preserveOwnership: !base.chown })));
    } else if (archive) {
      throw fail(`ADD of a ${archive} archive (${source}) is not supported`, 'extract it into the build context, or give a .tar or .tar.gz');
    } else plain.push(source);
  }
  if (plain.length > 0) entries.push(...(await planCopy(env.context, { ...base, sources: plain })));
  return dedupe(entries);
}

/** What an ADD source is, by its first bytes. */
async function archiveKind(node: TreeNode): Promise<'tar' | 'gzip' | 'bzip2' | 'xz' | 'zstd' | undefined> {
  const handle = await open(node.content!.path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
    if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
    if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
    if (bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
    return undefined;
  } finally {
    await handle.close();
  }
}

/** Downloads `url` into `tree` as file `name` (mode 0600, as Docker), verified against `checksum`. */
async function download(url: string, checksum: string, tree: MemoryTree, name: string, signal: AbortSignal | undefined, fail: (m: string, h?: string, c?: unknown) => BuildError): Promise<void> {
  const m = /^sha256:([a-f0-9]{64})$/.exec(checksum);
  if (!m) throw fail(`--checksum=${checksum} is not a sha256 digest`, 'write --checksum=sha256:<64 hex digits>');
  const res = await fetch(url, { signal, redirect: 'follow' }).catch((err: unknown) => {
    throw fail(`cannot download ${url}: ${(err as Error).message}`);
  });
  if (res.status !== 200 || !res.body) {
    await res.body?.cancel();
    throw fail(`cannot download ${url}: HTTP ${res.status}`);
  }
  const hash = createHash('sha256');
  const target = join(tree.scratch, name);
  await pipeline(Readable.fromWeb(res.body as never), new Transform({ transform(c: Buffer, _e, cb) { hash.update(c); cb(null, c); } }), createWriteStream(target, { mode: 0o600 }), { signal });
  const got = hash.digest('hex');
  if (got !== m[1]) throw fail(`${url} has digest sha256:${got}, not the --checksum ${checksum}`, 'check the URL and the checksum');
  const st = await stat(target, { bigint: true });
  tree.set(name, { type: 'file', mode: 0o600, uid: 0, gid: 0, size: Number(st.size), content: { path: target, size: Number(st.size), dev: Number(st.dev), ino: Number(st.ino), mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs } });
}
