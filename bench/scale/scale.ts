/**
 * `npm run bench -- --only scale`: Wharf against CNCF Distribution on registries of many repositories
 * (1,000 and 10,000 by default; 100,000 with `--scale-large`) and on one repository of many tags, the
 * content written straight into each one's storage layout (see content.ts, layouts.ts). Prints one
 * table per registry and, with `--scale-large`, how Wharf's figures grow from 10,000 to 100,000.
 */
import { markdownTable, type Results } from '../report.js';
import { installed } from '../servers.js';
import { TALL_NAME, tallRepository, wideName, wideRepository, type RepositoryContent } from './content.js';
import { growthTable, tallMetrics, WIDE_METRICS } from './metrics.js';
import { dropCaches } from './measure.js';
import { measureRegistry, type ScaleRegistry, type ScaleRun } from './registries.js';

/** The scale bench's options. */
export interface ScaleOptions {
  /** repository counts of the wide registries */
  sizes: number[];
  /** tags of the tall registry's repository; 0: no tall registry */
  tallTags: number;
  /** also the wide registry of 100,000 repositories (Wharf alone: Distribution's layout needs more inodes than this disk has) */
  large: boolean;
  distribution: boolean;
  /** cycles of the soak, run on the smallest wide registry */
  soakCycles: number;
}

/** Repository `i` of a wide registry of `n`, for the pull checks: the first, the middle and the last few. */
function sample(n: number): RepositoryContent[] {
  const picks = new Set([0, 1, Math.floor(n / 2), n - 2, n - 1].filter((i) => i >= 0 && i < n));
  return [...picks].map((i) => wideRepository(i));
}

function wide(n: number, distribution: boolean, soakCycles = 0): ScaleRegistry {
  return {
    soakCycles,
    label: `wide-${n}`,
    kind: 'wide',
    content: function* () {
      for (let i = 0; i < n; i++) yield wideRepository(i);
    },
    sample: sample(n),
    repositories: n,
    distribution,
  };
}

function tall(tags: number, distribution: boolean): ScaleRegistry {
  let first: RepositoryContent | undefined;
  let last: RepositoryContent | undefined;
  for (const part of tallRepository(tags)) {
    first ??= part;
    last = part;
  }
  return {
    label: `tall-${tags}`,
    kind: 'tall',
    content: () => tallRepository(tags),
    sample: [{ ...first!, tags: [first!.tags[0]!, last!.tags.at(-1)!] }],
    repositories: 1,
    distribution,
    soakCycles: 0,
  };
}

/**
 * Runs the scale bench.
 * @returns the Markdown of its tables and notes
 */
export async function runScale(options: ScaleOptions, run: ScaleRun): Promise<string> {
  if (run.cold) await dropCaches(); // a run that may not drop the page cache fails here, before it writes a registry
  const withDistribution = options.distribution && installed('docker-registry');
  const sections: string[] = [];
  const wideResults = new Map<number, Results>();
  const smallest = Math.min(...options.sizes);
  const registries: ScaleRegistry[] = options.sizes.map((n) => wide(n, withDistribution, n === smallest ? options.soakCycles : 0));
  if (options.large) registries.push(wide(100_000, false));
  if (options.tallTags > 0) registries.push(tall(options.tallTags, withDistribution));
  for (const registry of registries) {
    run.log(`${registry.label}: ${registry.kind === 'wide' ? `${registry.repositories} repositories (${wideName(0)} ..)` : `${TALL_NAME}, ${options.tallTags} tags`}`);
    const { results, notes } = await measureRegistry(registry, run);
    if (registry.kind === 'wide') wideResults.set(registry.repositories, results);
    const title =
      registry.kind === 'wide'
        ? `### ${registry.repositories.toLocaleString('en-US')} repositories x 10 tags (${(registry.repositories * 24 + 100).toLocaleString('en-US')} blobs)`
        : `### one repository of ${options.tallTags.toLocaleString('en-US')} tags`;
    const table = markdownTable(results, registry.kind === 'wide' ? WIDE_METRICS : tallMetrics(options.tallTags));
    sections.push([title, '', table, '', ...notes.map((n) => `- ${n}`), ''].join('\n'));
  }
  const small = wideResults.get(10_000);
  const large = wideResults.get(100_000);
  if (small && large) sections.push([`### growth from 10,000 to 100,000 repositories (${run.cold ? 'both cold' : 'warm page cache: the larger registry may not fit it'})`, '', growthTable(small, large, '10,000', '100,000'), ''].join('\n'));
  if (!withDistribution && options.distribution) sections.push('- docker-registry is not installed: Wharf measured alone (apt-get install docker-registry)');
  return sections.join('\n');
}
