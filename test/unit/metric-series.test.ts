import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CounterFamily, GaugeFamily, HistogramFamily } from '../../src/observability/series.js';

const BUCKETS = [0.005, 0.01, 0.5, 1, 60];

describe('metric families with series resolved once', () => {
  it('render the same Prometheus text as prom-client for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const histogram = new HistogramFamily('x_seconds', 'X.', ['handler', 'method'], BUCKETS, ours);
    const promHistogram = new Histogram({ name: 'x_seconds', help: 'X.', labelNames: ['handler', 'method'], buckets: BUCKETS, registers: [theirs] });
    const counter = new CounterFamily('x_total', 'X count.', ['code'], ours);
    const promCounter = new Counter({ name: 'x_total', help: 'X count.', labelNames: ['code'], registers: [theirs] });
    const gauge = new GaugeFamily('x_in_flight', 'X in flight.', ['route'], ours);
    const promGauge = new Gauge({ name: 'x_in_flight', help: 'X in flight.', labelNames: ['route'], registers: [theirs] });
    // 0.5 sits on a bound (le is inclusive), 100 is past the last one (+Inf only), a label value needs escaping
    for (const [handler, method, seconds] of [['blob', 'GET', 0.001], ['blob', 'GET', 0.5], ['blob', 'HEAD', 100], ['say "hi"\n', 'GET', 0.02]] as const) {
      histogram.series(handler, method).observe(seconds);
      promHistogram.labels(handler, method).observe(seconds);
    }
    counter.series('200').inc();
    counter.series('200').inc(2);
    counter.series('404').inc();
    promCounter.labels('200').inc(3);
    promCounter.labels('404').inc();
    const inFlight = gauge.series('/v2/');
    inFlight.inc();
    inFlight.inc();
    inFlight.dec();
    promGauge.labels('/v2/').set(1);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('keeps one series per label values and refuses a wrong number of them', () => {
    const family = new CounterFamily('y_total', 'Y.', ['a', 'b'], new Registry());
    expect(family.series('1', '2')).toBe(family.series('1', '2'));
    expect(family.series('1', '2')).not.toBe(family.series('12', ''));
    expect(() => family.series('1')).toThrow(/expected 2 label values, got 1/);
  });

});
