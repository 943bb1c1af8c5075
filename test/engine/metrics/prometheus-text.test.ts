import { MetricFamily, ScalarFamily, renderPrometheusText } from '../../../src/engine/metrics/prometheus-text';
import { parsePrometheus } from './parse-prometheus';

const counter = (name: string, samples: ScalarFamily['samples']): MetricFamily => ({ name, help: `help of ${name}`, type: 'counter', samples });

describe('renderPrometheusText', () => {
  it('writes HELP and TYPE before the samples, labels in the given order', () => {
    const text = renderPrometheusText([
      counter('nv_inference_request_success', [
        { labels: { model: 'a', version: '1' }, value: 3 },
        { labels: { model: 'b', version: '2' }, value: 0 },
      ]),
    ]);
    expect(text).toBe(
      [
        '# HELP nv_inference_request_success help of nv_inference_request_success',
        '# TYPE nv_inference_request_success counter',
        'nv_inference_request_success{model="a",version="1"} 3',
        'nv_inference_request_success{model="b",version="2"} 0',
        '',
      ].join('\n'),
    );
  });

  it('writes a sample without labels bare, and a family without samples not at all', () => {
    const text = renderPrometheusText([
      { name: 'nv_cpu_utilization', help: 'CPU utilization rate [0.0 - 1.0]', type: 'gauge', samples: [{ labels: {}, value: 0.25 }] },
      counter('nv_inference_count', []),
    ]);
    expect(text).toBe('# HELP nv_cpu_utilization CPU utilization rate [0.0 - 1.0]\n# TYPE nv_cpu_utilization gauge\nnv_cpu_utilization 0.25\n');
  });

  it('renders nothing at all when no family has samples', () => {
    expect(renderPrometheusText([counter('x', [])])).toBe('');
  });

  it.each([
    ['a quote', 'say "hi"'],
    ['a backslash', 'C:\\models'],
    ['a newline', 'two\nlines'],
    ['plain text', 'resnet50'],
  ])('escapes label values containing %s so they read back unchanged', (_, model) => {
    const parsed = parsePrometheus(renderPrometheusText([counter('m', [{ labels: { model }, value: 1 }])]));
    expect(parsed.get('m')!.samples[0]!.labels.model).toBe(model);
  });

  it.each([
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, '+Inf'],
    [Number.NEGATIVE_INFINITY, '-Inf'],
    [1.5e-7, '1.5e-7'],
    [12345678901, '12345678901'],
  ])('writes the value %p as %s', (value, written) => {
    expect(renderPrometheusText([counter('m', [{ labels: {}, value }])])).toContain(`\nm ${written}\n`);
  });

  it('writes a summary as _count, _sum and one quantile-labelled sample per quantile (quantile last)', () => {
    const text = renderPrometheusText([
      {
        name: 'nv_inference_queue_summary_us',
        help: 'Summary of inference queuing duration in microseconds (includes cached requests)',
        type: 'summary',
        samples: [{ labels: { model: 'm', version: '1' }, count: 161, sum: 11110, quantiles: [[0.5, 55], [0.999, Number.NaN]] }],
      },
    ]);
    expect(text).toBe(
      [
        '# HELP nv_inference_queue_summary_us Summary of inference queuing duration in microseconds (includes cached requests)',
        '# TYPE nv_inference_queue_summary_us summary',
        'nv_inference_queue_summary_us_count{model="m",version="1"} 161',
        'nv_inference_queue_summary_us_sum{model="m",version="1"} 11110',
        'nv_inference_queue_summary_us{model="m",version="1",quantile="0.5"} 55',
        'nv_inference_queue_summary_us{model="m",version="1",quantile="0.999"} NaN',
        '',
      ].join('\n'),
    );
    expect(() => parsePrometheus(text)).not.toThrow();
  });

  it('writes a histogram with cumulative le buckets and a closing +Inf bucket equal to the count', () => {
    const text = renderPrometheusText([
      {
        name: 'scoreline_inference_batch_size',
        help: 'batch sizes',
        type: 'histogram',
        samples: [{ labels: { model: 'm', version: '1' }, count: 5, sum: 14, buckets: [[1, 1], [2, 1], [4, 4]] }],
      },
    ]);
    expect(text).toBe(
      [
        '# HELP scoreline_inference_batch_size batch sizes',
        '# TYPE scoreline_inference_batch_size histogram',
        'scoreline_inference_batch_size_count{model="m",version="1"} 5',
        'scoreline_inference_batch_size_sum{model="m",version="1"} 14',
        'scoreline_inference_batch_size_bucket{model="m",version="1",le="1"} 1',
        'scoreline_inference_batch_size_bucket{model="m",version="1",le="2"} 1',
        'scoreline_inference_batch_size_bucket{model="m",version="1",le="4"} 4',
        'scoreline_inference_batch_size_bucket{model="m",version="1",le="+Inf"} 5',
        '',
      ].join('\n'),
    );
    expect(parsePrometheus(text).get('scoreline_inference_batch_size')!.samples).toHaveLength(6);
  });
});
