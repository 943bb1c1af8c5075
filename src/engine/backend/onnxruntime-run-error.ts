/**
 * What a caller hears when onnxruntime fails a run: onnxruntime's own text, as Triton's
 * onnxruntime backend answers it ("onnx runtime error <code>: <message>", INTERNAL: HTTP
 * 500, gRPC INTERNAL), rather than a bare "internal error". onnxruntime-node throws only
 * the message (its binding drops OrtErrorCode), so the code Triton puts after "error" is
 * absent here. The message is kept whole: replies pass it through publicErrorText, which
 * removes the source paths onnxruntime names ("/onnxruntime_src/...element_wise_ops.h:563"),
 * and the log gets it as it came.
 */
import { InferenceError } from '../../errors';

export const ONNX_RUNTIME_ERROR_PREFIX = 'onnx runtime error';

export function onnxRuntimeRunError(message: string): InferenceError {
  // onnxruntime ends its status text with a newline.
  return new InferenceError(`${ONNX_RUNTIME_ERROR_PREFIX}: ${message.trim()}`);
}
