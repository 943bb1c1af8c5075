import { MetricFamily, renderPrometheusText } from '../../../src/engine/metrics/prometheus-text';
import { parsePrometheus } from './parse-prometheus';

const counter = (name: string, samples: MetricFamily['samples']): MetricFamily => ({ name, help: `help of ${name}`, type: 'counter', samples });

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
});
