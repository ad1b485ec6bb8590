/**
 * Reading a Prometheus text exposition in tests, through a real parser of the format
 * (parse-prometheus-text-format, prom2json's output shape). That parser folds the series of a
 * histogram into one and drops their labels when they have any besides `le`, so histograms are read
 * as their `_count`, `_sum` and `_bucket` series: their `# TYPE` lines are given as `untyped`.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** One scrape, parsed. */
export class Scrape {
  private readonly families: ReturnType<typeof parsePrometheusTextFormat>;

  /** @throws Error when `text` is not the Prometheus text format */
  constructor(text: string) {
    this.families = parsePrometheusTextFormat(text.replace(/^(# TYPE \S+) histogram$/gm, '$1 untyped'));
  }

  /**
   * The sum of the series of metric `name` whose labels include `labels`: a counter's or gauge's value,
   * a histogram's count (or its sum with `field: 'sum'`); 0 when none matches.
   * @throws Error when the metric is not exported at all
   */
  value(name: string, labels: Record<string, string> = {}, field: 'count' | 'sum' = 'count'): number {
    const samples = this.samples(this.families.some((f) => f.name === `${name}_count`) ? `${name}_${field}` : name);
    if (samples === undefined) throw new Error(`metric ${name} is not exported; exported: ${this.families.map((f) => f.name).join(', ')}`);
    return samples
      .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
      .reduce((sum, m) => sum + Number(m.value), 0);
  }

  /** The label sets of metric `name`'s series ([] when it has none). */
  labelSets(name: string): Record<string, string>[] {
    return (this.samples(name) ?? []).map((m) => m.labels ?? {});
  }

  /** The samples of every family named `name` (an untyped histogram's series come as one family per label set), or undefined when there is none. */
  private samples(name: string): ReturnType<typeof parsePrometheusTextFormat>[number]['metrics'] | undefined {
    const families = this.families.filter((f) => f.name === name);
    return families.length === 0 ? undefined : families.flatMap((f) => f.metrics);
  }

  /** How many series the scrape holds (each bucket of a histogram counts), of the metrics whose names start with `prefix`. */
  seriesCount(prefix = ''): number {
    return this.families.filter((f) => f.name.startsWith(prefix)).reduce((n, f) => n + f.metrics.length, 0);
  }
}
