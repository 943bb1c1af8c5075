/**
 * The gRPC messages as the server receives them (decoded with SERVER_PROTO_OPTIONS:
 * snake_case names, 64-bit integers as decimal strings, defaults filled in, absent
 * sub-messages null) and as it sends them (plain objects; 64-bit fields take numbers).
 * Only the messages whose shape the code relies on are spelled out.
 */

/** A decoded 64-bit integer: a decimal string (exact). Outgoing ones may be numbers. */
export type WireLong = string;

export interface WireInferParameter {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
  bool_param?: boolean;
  int64_param?: WireLong;
  string_param?: string;
  double_param?: number;
  uint64_param?: WireLong;
}

export interface WireTensorContents {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: WireLong[];
  uint_contents: number[];
  uint64_contents: WireLong[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Buffer[];
}

export interface WireInferInput {
  name: string;
  datatype: string;
  shape: WireLong[];
  parameters: Record<string, WireInferParameter>;
  contents: WireTensorContents | null;
}

export interface WireRequestedOutput {
  name: string;
  parameters: Record<string, WireInferParameter>;
}

export interface WireModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, WireInferParameter>;
  inputs: WireInferInput[];
  outputs: WireRequestedOutput[];
  raw_input_contents: Buffer[];
}

export interface WireModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, WireInferParameter>;
  outputs: Array<{ name: string; datatype: string; shape: number[] }>;
  raw_output_contents: Buffer[];
}

/** One answer on ModelStreamInfer: a response, or an error naming the request by its id. */
export interface WireModelStreamInferResponse {
  error_message: string;
  infer_response: WireModelInferResponse | { id: string };
}

export interface WireModelRequest {
  name: string;
  version: string;
}

export interface WireRepositoryParameter {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'bytes_param';
  bool_param?: boolean;
  int64_param?: WireLong;
  string_param?: string;
  bytes_param?: Buffer;
}

export interface WireRepositoryIndexRequest {
  repository_name: string;
  ready: boolean;
}

export interface WireRepositoryModelRequest {
  repository_name: string;
  model_name: string;
  parameters: Record<string, WireRepositoryParameter>;
}
