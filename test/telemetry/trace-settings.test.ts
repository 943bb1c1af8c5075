/**
 * Triton's trace extension settings as the engine keeps them (the routes are exercised in
 * engine-traces.test.ts): model settings over global ones, null and empty bodies, and
 * what trace_rate / trace_count do to which requests get a span.
 */
import { TraceSettings } from '../../src/telemetry/trace-settings';

describe('TraceSettings', () => {
  it('starts at TIMESTAMPS when the process traces, OFF when it does not', () => {
    expect(new TraceSettings(true).get()).toEqual({ trace_level: ['TIMESTAMPS'], trace_rate: '1', trace_count: '-1', log_frequency: '0', trace_file: '', trace_mode: 'opentelemetry' });
    expect(new TraceSettings(false).get().trace_level).toEqual(['OFF']);
    expect(new TraceSettings(false).admit('m', true)).toBe(false);
  });

  it("keeps a model's own fields over the global ones; null clears one, an empty body all", () => {
    const s = new TraceSettings(true);
    expect(s.update({ trace_rate: '5', trace_level: 'OFF' }, 'm')).toMatchObject({ trace_rate: '5', trace_level: ['OFF'] });
    s.update({ trace_count: '7' });
    expect(s.get('m')).toMatchObject({ trace_rate: '5', trace_count: '7', trace_level: ['OFF'] });
    expect(s.get('other')).toMatchObject({ trace_rate: '1', trace_level: ['TIMESTAMPS'] });
    expect(s.update({ trace_level: null }, 'm').trace_level).toEqual(['TIMESTAMPS']);
    expect(s.update({}, 'm').trace_rate).toBe('1');
  });

  it('traces 1 in trace_rate requests without a sampled parent, and every sampled one', () => {
    const s = new TraceSettings(true);
    s.update({ trace_rate: '4' });
    const unsampled = Array.from({ length: 8 }, () => s.admit('m', false));
    expect(unsampled).toEqual([true, false, false, false, true, false, false, false]);
    expect(Array.from({ length: 3 }, () => s.admit('m', true))).toEqual([true, true, true]);
  });

  it('stops after trace_count traces, counting down', () => {
    const s = new TraceSettings(true);
    s.update({ trace_count: '2' }, 'm');
    expect([s.admit('m', true), s.admit('m', true), s.admit('m', true)]).toEqual([true, true, false]);
    expect(s.get('m').trace_count).toBe('0');
    expect(s.admit('other', true)).toBe(true);
  });

  it.each([
    [{ trace_level: ['TENSORS'] }, "'trace_level': TENSORS is not supported"],
    [{ trace_level: ['OFF', 'TIMESTAMPS'] }, 'OFF cannot be combined'],
    [{ trace_level: 'LOUD' }, "unknown level 'LOUD'"],
    [{ trace_rate: '0' }, "'trace_rate' must be an integer >= 1"],
    [{ trace_count: '-2' }, "'trace_count' must be an integer >= -1"],
    [{ trace_file: 'out.json' }, "'trace_file' is not supported"],
    [{ log_frequency: '5' }, "'log_frequency' is not supported"],
    [{ trace_mode: 'triton' }, "'trace_mode' must be 'opentelemetry'"],
    [{ trace_colour: 'red' }, "unknown trace setting 'trace_colour'"],
    [{ trace_rate: null }, 'the global one cannot be cleared'],
  ])('refuses %j with 400 naming the field', (body, message) => {
    let error: unknown;
    try {
      new TraceSettings(true).update(body as Record<string, unknown>);
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ status: 400 });
    expect((error as Error).message).toContain(message);
  });
});
