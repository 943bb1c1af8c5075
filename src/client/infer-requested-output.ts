/**
 * An output the caller wants back, and how: tritonclient.http's InferRequestedOutput.
 * Binary by default; `classCount > 0` asks the server's classification extension for the
 * top classes as "value:index[:label]" strings instead of the raw tensor.
 */
import { InvalidArgumentError } from '../errors';
import { WireRequestedOutput } from '../tensor';

export interface InferRequestedOutputOptions {
  /** Return the data as binary after the JSON header (default) or inside the JSON. */
  binaryData?: boolean;
  /** Number of top classes to return; 0 (default) returns the tensor itself. */
  classCount?: number;
}

export class InferRequestedOutput {
  readonly name: string;
  readonly binaryData: boolean;
  readonly classCount: number;

  constructor(name: string, options: InferRequestedOutputOptions = {}) {
    if (typeof name !== 'string' || name === '') {
      throw new InvalidArgumentError(`InferRequestedOutput: name must be a non-empty string, got ${JSON.stringify(name)}`);
    }
    const { binaryData = true, classCount = 0 } = options;
    if (typeof binaryData !== 'boolean') {
      throw new InvalidArgumentError(`output '${name}': option 'binaryData' must be a boolean`);
    }
    if (!Number.isSafeInteger(classCount) || classCount < 0) {
      throw new InvalidArgumentError(`output '${name}': option 'classCount' must be a non-negative integer, got ${String(classCount)}`);
    }
    this.name = name;
    this.binaryData = binaryData;
    this.classCount = classCount;
  }

  /** @internal The request's entry for this output; key order as tritonclient writes it. */
  toWire(): WireRequestedOutput {
    const parameters: NonNullable<WireRequestedOutput['parameters']> = {};
    if (this.classCount !== 0) parameters.classification = this.classCount;
    parameters.binary_data = this.binaryData;
    return { name: this.name, parameters };
  }
}
