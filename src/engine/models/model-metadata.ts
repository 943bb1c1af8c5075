/**
 * KServe v2 model metadata (name, versions, platform, inputs and outputs with the batch
 * dim as -1), built once for both front doors: HTTP GET /v2/models/M and gRPC ModelMetadata.
 */
import { dataTypeFromConfigType } from '../../tensor/datatypes';
import type { ModelManager } from './model-manager';

export interface TensorMetadata {
  name: string;
  datatype: string | undefined;
  shape: number[];
}

export interface ModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export function modelMetadata(models: ModelManager, name: string, version: string | undefined): ModelMetadataResponse {
  const config = models.getVersion(name, version).config;
  const batch = config.max_batch_size > 0 ? [-1] : [];
  const io = (t: { name: string; data_type: string; dims: number[] }): TensorMetadata => ({
    name: t.name,
    datatype: dataTypeFromConfigType(t.data_type),
    shape: [...batch, ...t.dims],
  });
  return {
    name,
    versions: version ? [version] : models.readyVersions(name),
    platform: config.platform ?? 'onnxruntime_onnx',
    inputs: config.input.map(io),
    outputs: config.output.map(io),
  };
}
