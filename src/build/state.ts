/**
 * The state of a stage while its instructions run (ggcr `mutate`: a base plus appended layers,
 * history and config edits; the base itself is never touched), and the variables its instructions
 * see (Docker's ARG scoping: ARGs before the first FROM are for FROM lines, a stage sees an ARG
 * only once it declares it; `--build-arg` overrides a declared ARG's default; ENV wins over an ARG
 * of the same name; BuildKit's automatic platform ARGs).
 */
import { posix } from 'node:path';
import type { Platform } from '../oci/platform.js';
import { formatPlatform } from '../oci/platform.js';
import type { BaseImage, HistoryEntry, ImageConfig, ImageFormat, ImageLayer } from './base.js';
import { envMap, type ContainerConfig } from './config.js';
import type { LayerEntry } from './tree.js';

/** A stage being built, or built. */
export interface StageImage {
  platform: Platform;
  format: ImageFormat;
  config: ImageConfig & { config: ContainerConfig; history: HistoryEntry[]; rootfs: { type: string; diff_ids: string[] } };
  layers: ImageLayer[];
  /** the registry image's layers under everything this build wrote (unpacked for COPY --from only) */
  baseLayers: ImageLayer[];
  /** names the base in messages */
  baseName: string;
  /** what this stage (and the stages it is built FROM) wrote, in order */
  ownEntries: LayerEntry[];
  /** folders (absolute paths) this build made: WORKDIR and COPY */
  knownDirs: Set<string>;
  /** a CMD was set in this stage (Docker's `cmdSet`: ENTRYPOINT keeps it) */
  cmdSet: boolean;
}

/** A new stage state on `base` (a deep copy of its config). */
export function startStage(base: BaseImage, platform: Platform): StageImage {
  const config = structuredClone(base.config) as StageImage['config'];
  config.config = config.config ?? {};
  config.history = config.history ?? [];
  config.rootfs = config.rootfs ?? { type: 'layers', diff_ids: [] };
  for (const stale of ['container', 'container_config', 'docker_version']) delete config[stale];
  return {
    platform,
    format: base.format,
    config,
    layers: [...base.layers],
    baseLayers: [...base.layers],
    baseName: base.name,
    ownEntries: [],
    knownDirs: new Set(['/']),
    cmdSet: false,
  };
}

/** A stage state continued from an earlier stage's result (`FROM earlier`). */
export function continueStage(earlier: StageImage): StageImage {
  return {
    ...earlier,
    config: structuredClone(earlier.config),
    layers: [...earlier.layers],
    baseLayers: [...earlier.baseLayers],
    ownEntries: [...earlier.ownEntries],
    knownDirs: new Set(earlier.knownDirs),
    cmdSet: false,
  };
}

/** Records that `dir` (absolute) and its parents are folders. */
export function addKnownDir(state: StageImage, dir: string): void {
  for (let d = posix.normalize(dir); ; d = posix.dirname(d)) {
    state.knownDirs.add(d);
    if (d === '/' || d === '.') return;
  }
}

/** BuildKit's automatic platform ARGs for a target platform, built on `build`. */
export function platformArgs(target: Platform, build: Platform): Map<string, string> {
  return new Map([
    ['TARGETPLATFORM', formatPlatform(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
    ['BUILDPLATFORM', formatPlatform(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
  ]);
}

/** The platform this machine runs (Node's `process.arch` in the image spec's words). */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  const architecture = arch[process.arch] ?? process.arch;
  return { os: 'linux', architecture };
}

/** The variables an instruction of the stage sees: its ARGs, then ENV on top. */
export function variables(args: ReadonlyMap<string, string>, config: ContainerConfig): Map<string, string> {
  return new Map([...args, ...envMap(config)]);
}
