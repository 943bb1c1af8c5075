/**
 * A plain @grpc/grpc-js client for GRPCInferenceService, built from the package's own
 * proto files, plus the tensor encodings the tests send: typed contents by the protocol's
 * table (written out here, not taken from the server) and raw little-endian bytes.
 */
import { Client, type ClientDuplexStream, Metadata, ServiceError, credentials, loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadInferencePackageDefinition } from '../../../../src/util/proto-files';
import { DataType, elementCount } from '../../../../src/tensor/datatypes';
import { tensorDataFromJson, tensorDataToJsonValues } from '../../../../src/tensor/json-tensor-data';
import { tensorDataFromRaw, tensorDataToRaw } from '../../../../src/tensor/raw-tensor-data';

 

// The client's view: 64-bit integers as numbers (test values stay below 2^53).
const CLIENT_PROTO_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

export interface GrpcTestClient {
  /** Calls a unary RPC; rejects with the ServiceError. */
  rpc(method: string, request?: object): Promise<any>;
  /** Calls a unary RPC that must fail; resolves with its ServiceError. */
  rpcError(method: string, request: object): Promise<ServiceError>;
  /** Calls a unary RPC with a message already in wire form (bytes no encoder would write); resolves with the error or the response's byte length. */
  rawRpc(method: string, message: Buffer): Promise<ServiceError | { responseBytes: number }>;
  /** Opens a ModelStreamInfer stream (tritonclient's start_stream). */
  openStream(metadata?: Metadata): GrpcTestStream;
  close(): void;
}

/** One ModelStreamInferResponse as the client decodes it. */
export interface StreamAnswer {
  error_message: string;
  infer_response: any;
}

export interface GrpcTestStream {
  /** Sends one ModelInferRequest: an object the client encodes, or wire bytes sent as they are. */
  send(message: object | Buffer): void;
  /** Resolves with the next `n` answers (in the order they arrived). */
  next(n: number): Promise<StreamAnswer[]>;
  /** Half-closes the stream (stop_stream) and resolves with the status it ends with. */
  end(): Promise<{ code: number; details: string }>;
  /** Cancels the stream from the client. */
  cancel(): void;
  /** The status the stream ended with, once it has. */
  readonly ended: Promise<{ code: number; details: string }>;
}

export function connectGrpc(address: string): GrpcTestClient {
  const pkg = loadPackageDefinition(loadInferencePackageDefinition(CLIENT_PROTO_OPTIONS));
  const Service = (pkg.inference as GrpcObject).GRPCInferenceService as ServiceClientConstructor;
  // No client-side send limit: the server's receive limit is what the tests exercise.
  const client: Client = new Service(address, credentials.createInsecure(), { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 });
  const rpc = (method: string, request: object = {}): Promise<any> =>
    new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[method]!;
      fn.call(client, request, new Metadata(), (err: ServiceError | null, response: unknown) => (err ? reject(err) : resolve(response)));
    });
  return {
    rpc,
    rpcError: (method, request) =>
      rpc(method, request).then(
        () => {
          throw new Error(`${method} succeeded but was expected to fail`);
        },
        (err: ServiceError) => err,
      ),
    rawRpc: (method, message) =>
      new Promise((resolve) => {
        client.makeUnaryRequest(
          `/inference.GRPCInferenceService/${method}`,
          (b: Buffer) => b,
          (b: Buffer) => b,
          message,
          (err: ServiceError | null, response?: Buffer) => resolve(err ?? { responseBytes: response!.length }),
        );
      }),
    openStream: (metadata = new Metadata()) => openStream(client, Service, metadata),
    close: () => client.close(),
  };
}

function openStream(client: Client, Service: ServiceClientConstructor, metadata: Metadata): GrpcTestStream {
  const method = Service.service.ModelStreamInfer!;
  const call: ClientDuplexStream<object | Buffer, StreamAnswer> = client.makeBidiStreamRequest(
    method.path,
    (m: object | Buffer) => (Buffer.isBuffer(m) ? m : method.requestSerialize(m)),
    (b: Buffer) => method.responseDeserialize(b) as StreamAnswer,
    metadata,
  );
  const answers: StreamAnswer[] = [];
  const waiters: Array<() => void> = [];
  call.on('data', (answer: StreamAnswer) => {
    answers.push(answer);
    waiters.splice(0).forEach((w) => w());
  });
  const ended = new Promise<{ code: number; details: string }>((resolve) => {
    call.on('status', (s: { code: number; details: string }) => resolve({ code: s.code, details: s.details }));
  });
  // The stream's error is also its status; the listener keeps it from being thrown.
  call.on('error', () => undefined);
  // 'close' comes after the last answer has been delivered ('status' may come before it);
  // a stream that ends with its write side open may not close, so a status also settles it, later.
  const closed = Promise.race([
    new Promise<void>((resolve) => call.on('close', () => resolve())),
    ended.then(() => new Promise<void>((resolve) => setTimeout(resolve, 200))),
  ]);
  let taken = 0;
  const next = (n: number): Promise<StreamAnswer[]> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (answers.length - taken >= n) {
          resolve(answers.slice(taken, (taken += n)));
        } else {
          waiters.push(check);
        }
      };
      void closed.then(() => ended).then((s) => reject(new Error(`stream ended (code ${s.code}: ${s.details}) after ${answers.length - taken} of ${n} answers`)));
      check();
    });
  return {
    send: (message) => call.write(message),
    next,
    end: () => {
      call.end();
      return ended;
    },
    cancel: () => call.cancel(),
    ended,
  };
}

/** InferTensorContents' field for each datatype; FP16 and BF16 have none. */
export const TYPED_FIELD: Partial<Record<DataType, string>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** One tensor given as KServe JSON values, as a gRPC input with typed contents, or raw (always raw for FP16/BF16). */
export function grpcInput(name: string, datatype: DataType, shape: number[], values: unknown[], raw: boolean): { input: object; raw?: Buffer } {
  const data = tensorDataFromJson(datatype, elementCount(shape), values, name);
  if (raw || TYPED_FIELD[datatype] === undefined) {
    const bytes = tensorDataToRaw(datatype, data);
    return { input: { name, datatype, shape }, raw: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  }
  const typed = datatype === 'BYTES' ? (values as string[]).map((s) => Buffer.from(s)) : values;
  return { input: { name, datatype, shape, contents: { [TYPED_FIELD[datatype]!]: typed } } };
}

/** A gRPC output's raw bytes as the JSON values HTTP would have sent. */
export function rawToValues(output: { datatype: DataType; shape: number[] }, raw: Buffer): unknown[] {
  return tensorDataToJsonValues(output.datatype, tensorDataFromRaw(output.datatype, elementCount(output.shape), raw, output.datatype));
}

export const int32Raw = (values: number[]): Buffer => Buffer.from(Int32Array.from(values).buffer);
export const int32Values = (raw: Buffer): number[] => Array.from(new Int32Array(Uint8Array.from(raw).buffer));
