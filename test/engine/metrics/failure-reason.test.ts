import {
  InferenceError,
  InvalidArgumentError,
  ModelNotFoundError,
  QueueFullError,
  QueueTimeoutError,
  UnavailableError,
} from '../../../src/errors';
import { FailureReason, ModelStatistics, failureReasonOf } from '../../../src/engine/models/model-statistics';

describe('failure reasons (the reason label of nv_inference_request_failure)', () => {
  const abort = Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });

  it.each<[string, unknown, FailureReason]>([
    ['a full queue', new QueueFullError(), 'REJECTED'],
    ['a queue timeout', new QueueTimeoutError(), 'REJECTED'],
    ['an aborted request', abort, 'CANCELED'],
    ['a failed model execution', new InferenceError('boom'), 'BACKEND'],
    ['an error from onnxruntime or the worker thread', new Error('[ONNXRuntimeError] : 2 : INVALID_ARGUMENT'), 'BACKEND'],
    ['an invalid request', new InvalidArgumentError('bad shape'), 'OTHER'],
    ['an unknown version', new ModelNotFoundError('no version 9'), 'OTHER'],
    ['a version that is unloading', new UnavailableError('unloading'), 'OTHER'],
    ['no error given', undefined, 'OTHER'],
  ])('%s counts as %s', (_, error, reason) => {
    expect(failureReasonOf(error)).toBe(reason);
  });

  it('keeps a count per reason that adds up to the statistics extension fail count', () => {
    const stats = new ModelStatistics('m', '1');
    stats.recordFailure(1000, new QueueFullError());
    stats.recordFailure(1000, new QueueTimeoutError());
    stats.recordFailure(1000, new InvalidArgumentError('bad'));
    stats.recordFailure(1000);
    expect(stats.failureCounts()).toEqual({ REJECTED: 2, CANCELED: 0, BACKEND: 0, OTHER: 2 });
    expect(stats.toJSON().inference_stats.fail.count).toBe(4);
  });

  it('leaves the statistics extension JSON in Triton’s shape (no metrics-only fields)', () => {
    const stats = new ModelStatistics('m', '1');
    stats.recordLoadDuration(0.5);
    expect(stats.loadDurationSecs).toBe(0.5);
    expect(Object.keys(stats.toJSON()).sort()).toEqual(
      ['batch_stats', 'execution_count', 'inference_count', 'inference_stats', 'last_inference', 'name', 'version'].sort(),
    );
  });
});
