/**
 * The safety net of every error reply (src/util/public-error-text.ts): absolute paths, errno
 * names and stack frames leave a message; what the caller needs (fields, limits, routes,
 * URLs, model-relative file names) stays.
 */
import { publicErrorText } from '../../src/util/public-error-text';

describe('publicErrorText', () => {
  it.each([
    [
      "model 'm': label file '/tmp/scoreline-x/repo/m/labels.txt': ENOENT: no such file or directory, open '/tmp/scoreline-x/repo/m/labels.txt'",
      "model 'm': label file '<path>': no such file or directory",
    ],
    ["EACCES: permission denied, scandir '/srv/models'", 'permission denied'],
    ['Load model from /work/repo/m/1/model.onnx failed:Protobuf parsing failed.', 'Load model from <path> failed:Protobuf parsing failed.'],
    ['failed (code ENOENT) in C:\\models\\m\\1', 'failed (code ) in <path>'],
    ['boom\n    at Foo.bar (/work/main/src/x.ts:1:2)\n    at node:internal/process/task_queues:95:5', 'boom'],
  ])('strips internals: %j', (message, expected) => {
    expect(publicErrorText(message)).toBe(expected);
  });

  it.each([
    "model 'm': config field 'instance_group[0].count': 2147483647 exceeds the limit of 64 (--model-config-limit instances=N raises it)",
    'Not Found: POST /v2/models/m/versions/1/bogus',
    'the engine at http://127.0.0.1:8000/v2/models/m/infer answered 503',
    "model 'm' version 1: model file 'model.onnx' not found; 1/2 of the rows; dims [-1,8]",
  ])('keeps what the caller needs: %j', (message) => {
    expect(publicErrorText(message)).toBe(message);
  });
});
