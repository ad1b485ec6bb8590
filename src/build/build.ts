/**
 * `wharf build` without I/O at the edges: reads the Dockerfile, resolves the stages the target needs
 * (on demand, as BuildKit prunes: an unused stage is never built), runs each for every platform
 * asked, and returns the built images. Pushing and writing outputs are `output.ts`'s.
 */
import { mkdir, mkdtemp, readFile, realpath, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ClientError, isRegistryError } from '../client/errors.js';
import { parseReference } from '../client/image/locations.js';
import type { RegistryClient } from '../client/registry-client.js';
import { formatPlatform, parsePlatform, type Platform } from '../oci/platform.js';
import { fetchBase, imageTree, scratch, type BaseImage } from './base.js';
import { readIgnoreRules, contextTree } from './context.js';
import { parseDockerfile, type StageSpec } from './dockerfile.js';
import { SILENT, type BuildEnv, type BuildEvents } from './env.js';
import { BuildError, type SourceLocation } from './errors.js';
import { assembleImage, assembleResult, type BuiltResult } from './image.js';
import { LayerCache } from './layer-cache.js';
import { MemoryTree } from './memory-tree.js';
import { expandWord, SubstitutionError } from './shell-words.js';
import { declareArgs, runInstructions, type StageArgs } from './stage.js';
import { continueStage, hostPlatform, platformArgs, startStage, type StageImage } from './state.js';
import type { SourceTree } from './tree.js';

/** Options of {@link build}. */
export interface BuildOptions {
  /** the build context folder */
  context: string;
  /** the Dockerfile (default `<context>/Dockerfile`) */
  file?: string;
  /** `--build-arg` values: `KEY=value`, or `KEY` to take it from the environment */
  buildArgs?: readonly string[];
  /** platforms to build (default this machine's) */
  platforms?: readonly Platform[];
  /** the stage to build (default the last) */
  target?: string;
  /** seconds since the epoch for every mtime and `created` (default SOURCE_DATE_EPOCH, else 0) */
  epoch?: number;
  /** files above this many bytes get a layer of their own (default 64 MiB) */
  splitThreshold?: number;
  /** the build cache folder (see layer-cache.ts) */
  cacheDir: string;
  /** ignore the cache's records (layers are hashed again) */
  noCache?: boolean;
  client: RegistryClient;
  signal?: AbortSignal;
  events?: BuildEvents;
}

/** The split threshold's default: 64 MiB. */
export const DEFAULT_SPLIT_THRESHOLD = 64 * 1024 * 1024;

/** The build time: SOURCE_DATE_EPOCH (whole seconds), else 0. @throws BuildError for a bad value */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.SOURCE_DATE_EPOCH;
  if (value === undefined || value === '') return 0;
  if (!/^\d+$/.test(value)) throw new BuildError(`SOURCE_DATE_EPOCH="${value}" is not a whole number of seconds`, { hint: 'set it to e.g. $(git log -1 --format=%ct)' });
  return Number(value);
}

/** Parses `--build-arg` values. @throws BuildError naming the bad one */
export function parseBuildArgs(values: readonly string[], env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  const args = new Map<string, string>();
  for (const value of values) {
    const eq = value.indexOf('=');
    const name = eq < 0 ? value : value.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new BuildError(`invalid --build-arg "${value}"`, { hint: 'write --build-arg NAME=value (NAME: letters, digits and _, not starting with a digit)' });
    }
    const given = eq < 0 ? env[name] : value.slice(eq + 1);
    if (given !== undefined) args.set(name, given);
  }
  return args;
}

/**
 * Builds the image the Dockerfile describes.
 * @throws BuildError (with the Dockerfile's file and line where there is one) | ClientError | RegistryClientError
 */
export async function build(o: BuildOptions): Promise<BuiltResult> {
  const context = await realpath(o.context).catch(() => {
    throw new BuildError(`the build context ${o.context} does not exist`, { hint: 'give the folder holding the files to copy' });
  });
  if (!(await stat(context)).isDirectory()) throw new BuildError(`the build context ${o.context} is not a folder`);
  const file = o.file ?? join(context, 'Dockerfile');
  const text = await readFile(file, 'utf8').catch(() => {
    throw new BuildError(`cannot read the Dockerfile ${file}`, { hint: 'give it with -f FILE' });
  });
  const dockerfile = parseDockerfile(text, o.file ?? 'Dockerfile');
  const buildArgs = parseBuildArgs(o.buildArgs ?? []);
  const epoch = o.epoch ?? sourceDateEpoch();
  const platforms = o.platforms && o.platforms.length > 0 ? o.platforms : [hostPlatform()];
  const stages = dockerfile.stages;
  const target = o.target === undefined ? stages.at(-1)! : stages.find((s) => s.name === o.target!.toLowerCase());
  if (!target) throw new BuildError(`no stage named "${o.target}" for --target`, { hint: `the stages are: ${stages.map((s) => s.name ?? `#${s.index}`).join(', ')}` });
  await mkdir(o.cacheDir, { recursive: true });
  const scratchDir = await mkdtemp(join(o.cacheDir, 'tmp-'));
  const consumed = new Set<string>();
  const results = new Map<string, Promise<StageImage>>();
  const building = new Set<string>();
  const bases = new Map<string, Promise<BaseImage>>();
  const trees = new Map<string, Promise<SourceTree>>();
  const events = o.events ?? SILENT;
  const globalsFor = (platform: Platform): Map<string, string> => {
    const globals = platformArgs(platform, hostPlatform());
    const scope = new Map<string, string>();
    for (const ins of dockerfile.globalArgs) declareArgs(ins, scope, { buildArgs, globals, consumed }, new Map([...globals, ...scope]), dockerfile.escape);
    return new Map([...globals, ...scope]);
  };
  const stageNamed = (name: string): StageSpec | undefined => stages.find((s) => s.name === name.toLowerCase()) ?? (/^\d+$/.test(name) ? stages[Number(name)] : undefined);

  const baseImage = (name: string, platform: Platform, at: SourceLocation): Promise<BaseImage> => {
    const key = `${name}|${formatPlatform(platform)}`;
    let running = bases.get(key);
    if (!running) {
      running = (async () => {
        let ref;
        try {
          ref = parseReference(name);
        } catch (err) {
          throw new BuildError((err as Error).message, { at, cause: err });
        }
        return fetchBase(o.client, ref, platform, o.signal).catch((err: unknown) => {
          if (isRegistryError(err, { status: 404 })) throw new BuildError(`the image ${name} does not exist`, { at, hint: 'check its name and tag, and that it was pushed', cause: err });
          if (isRegistryError(err, { status: 401 }) || isRegistryError(err, { status: 403 })) {
            throw new BuildError(`cannot read the image ${name}: ${ref.registry} refused access (${err.registryCode})`, { at, hint: `run wharf login ${ref.registry} with an account that may pull it`, cause: err });
          }
          if (err instanceof ClientError && err.code === 'NOT_FOUND') throw new BuildError(err.message, { at, hint: 'pick a platform it has with --platform', cause: err });
          if (err instanceof ClientError) throw new BuildError(`cannot read the image ${name}: ${err.message}`, { at, hint: err.hint, cause: err });
          throw err;
        });
      })();
      bases.set(key, running);
    }
    return running;
  };

  const runStage = (spec: StageSpec, platform: Platform): Promise<StageImage> => {
    const key = `${spec.index}|${formatPlatform(platform)}`;
    let running = results.get(key);
    if (running) return running;
    if (building.has(key)) return Promise.reject(new BuildError(`stage ${spec.name ?? spec.index} depends on itself`, { at: spec.from.at }));
    building.add(key);
    running = (async () => {
      const globals = globalsFor(platform);
      const expand = (value: string) => {
        try {
          return expandWord(value, globals, dockerfile.escape);
        } catch (err) {
          throw new BuildError((err as SubstitutionError).message, { at: spec.from.at, cause: err });
        }
      };
      const flag = spec.from.flags.find((f) => f.name === 'platform');
      const stagePlatform = flag?.value ? parsePlatformAt(expand(flag.value), spec.from.at) : platform;
      const baseName = expand(spec.base);
      if (baseName === '') throw new BuildError(`FROM ${spec.base} names no image`, { at: spec.from.at, hint: 'give the ARG a value (--build-arg) or a default' });
      events.stage(`[${spec.index + 1}/${stages.length}] FROM ${baseName}${spec.name ? ` AS ${spec.name}` : ''} (${formatPlatform(stagePlatform as unknown as Record<string, unknown>)})`);
      const earlier = stageNamed(baseName);
      let state: StageImage;
      if (earlier && earlier.index < spec.index && !/^\d+$/.test(baseName)) state = continueStage(await runStage(earlier, stagePlatform));
      else state = startStage(baseName.toLowerCase() === 'scratch' ? scratch(stagePlatform) : await baseImage(baseName, stagePlatform, spec.from.at), stagePlatform);
      const triggers = state.config.config.OnBuild ?? [];
      if (triggers.length > 0) {
        throw new BuildError(`${baseName} has ONBUILD triggers (${triggers.join('; ')}), which wharf build does not run`, { at: spec.from.at, hint: 'build from an image without triggers, or build with docker build' });
      }
      const args: StageArgs = { buildArgs, globals, consumed };
      await runInstructions(env, state, spec.instructions, args, dockerfile.escape);
      return state;
    })();
    results.set(key, running);
    running.finally(() => building.delete(key)).catch(() => undefined);
    return running;
  };

  const env: BuildEnv = {
    client: o.client,
    context: contextTree(context, await readIgnoreRules(context, file)),
    cache: new LayerCache(o.cacheDir, !o.noCache),
    scratchDir,
    epoch,
    splitThreshold: o.splitThreshold ?? DEFAULT_SPLIT_THRESHOLD,
    signal: o.signal,
    events,
    treeOf(from, platform, at) {
      const key = `${from}|${formatPlatform(platform)}`;
      let running = trees.get(key);
      if (!running) {
        running = (async () => {
          const stage = stageNamed(from);
          if (stage) {
            const state = await runStage(stage, platform);
            const description = `stage "${stage.name ?? stage.index}"`;
            const tree = state.baseLayers.length > 0 ? await imageTree(o.client, state.baseLayers, description, scratchDir, o.signal) : new MemoryTree(description, scratchDir);
            tree.applyEntries(state.ownEntries);
            return tree;
          }
          const base = await baseImage(from, platform, at);
          return imageTree(o.client, base.layers, `image ${from}`, scratchDir, o.signal);
        })();
        trees.set(key, running);
      }
      return running;
    },
  };
  try {
    const images = [];
    for (const platform of platforms) images.push(assembleImage(await runStage(target, platform), epoch));
    const unused = [...buildArgs.keys()].filter((k) => !consumed.has(k));
    if (unused.length > 0) events.warn(`these --build-arg were not used by any ARG: ${unused.join(', ')}`);
    return assembleResult(images, platforms.length > 1);
  } finally {
    await rm(scratchDir, { recursive: true, force: true });
  }
}

function parsePlatformAt(value: string, at: SourceLocation): Platform {
  try {
    return parsePlatform(value);
  } catch (err) {
    throw new BuildError((err as Error).message, { at, cause: err });
  }
}
