/**
 * `/swagger.json?version=2|3|3.1` as AzureML's server answers it: an OpenAPI document whose
 * ServiceInput and ServiceOutput come from the score module's zod `inputSchema` and
 * `outputSchema` (an open object where a module has none). A `swagger2.json` /
 * `swagger.json` (version 2), `swagger3.json` or `swagger3.1.json` in the app root is
 * served instead of the generated one. Documents are built once per worker, on first use.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { NotFoundError } from '../../errors';
import type { RequestSchema } from '../worker/score-module';

export interface SwaggerSource {
  appRoot: string;
  serviceName: string;
  serviceVersion: string;
  inputSchema: RequestSchema | undefined;
  outputSchema: RequestSchema | undefined;
  apiKey: boolean;
}

type Version = '2' | '3' | '3.1';
const ALIASES: Record<string, Version> = { '2': '2', '2.0': '2', '3': '3', '3.0': '3', '3.1': '3.1' };
const USER_FILES: Record<Version, string[]> = { '2': ['swagger.json', 'swagger2.json'], '3': ['swagger3.json'], '3.1': ['swagger3.1.json'] };
const OPEN_OBJECT = { type: 'object', example: {} };

export class SwaggerDocuments {
  private readonly cache = new Map<Version, string>();

  constructor(private readonly source: SwaggerSource) {}

  /** The JSON text for `?version=`; default 2. Throws NotFoundError for versions that do not exist. */
  get(versionParam: string | null): string {
    const version = ALIASES[versionParam ?? '2'];
    if (version === undefined) {
      throw new NotFoundError(`Swagger version [${versionParam}] is not valid. Supported versions: [2, 3, 3.1].`);
    }
    let text = this.cache.get(version);
    if (text === undefined) {
      text = JSON.stringify(userDocument(this.source.appRoot, version) ?? generate(this.source, version));
      this.cache.set(version, text);
    }
    return text;
  }
}

function userDocument(appRoot: string, version: Version): unknown {
  for (const name of USER_FILES[version]) {
    try {
      return JSON.parse(readFileSync(join(appRoot, name), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return undefined;
}

function generate(source: SwaggerSource, version: Version): object {
  const target = version === '2' ? 'draft-4' : version === '3' ? 'openapi-3.0' : 'draft-2020-12';
  const input = jsonSchema(source.inputSchema, target, 'input');
  const output = jsonSchema(source.outputSchema, target, 'output');
  const info = {
    title: source.serviceName,
    description: `API specification for the Azure Machine Learning service ${source.serviceName}`,
    version: source.serviceVersion,
  };
  const error = { type: 'object', properties: { message: { type: 'string' } } };
  const security = source.apiKey ? [{ Bearer: [] }] : [];
  const bearer = { type: 'apiKey', name: 'Authorization', in: 'header', description: 'For example: Bearer abc123' };
  const ref = (name: string) => ({ $ref: version === '2' ? `#/definitions/${name}` : `#/components/schemas/${name}` });
  const failed = { description: 'The service failed to execute due to an error.', ...body(version, ref('ErrorResponse')) };
  const paths = {
    '/': {
      get: {
        operationId: 'ServiceHealthCheck',
        description: 'Simple health check endpoint to ensure the service is up at any given point.',
        responses: {
          200: { description: "If service is up and running, this response will be returned with the content 'Healthy'", ...body(version, { type: 'string' }, 'text/plain') },
          default: failed,
        },
      },
    },
    '/score': {
      post: {
        operationId: 'RunMLService',
        description: "Run web service's model and get the prediction output",
        security,
        ...(version === '2'
          ? { parameters: [{ name: 'serviceInputPayload', in: 'body', description: 'The input payload for executing the real-time machine learning service.', schema: ref('ServiceInput') }] }
          : { requestBody: { description: 'The input payload for executing the real-time machine learning service.', ...body(version, ref('ServiceInput')) } }),
        responses: {
          200: { description: 'The service processed the input correctly and provided a result prediction, if applicable.', ...body(version, ref('ServiceOutput')) },
          default: failed,
        },
      },
    },
    '/swagger.json': {
      get: {
        operationId: 'GetSwaggerSpec',
        description: 'Get the Swagger specification.',
        parameters: [
          version === '2'
            ? { name: 'version', in: 'query', required: false, type: 'string', enum: ['2', '3', '3.1'] }
            : { name: 'version', in: 'query', required: false, schema: { type: 'string', enum: ['2', '3', '3.1'] } },
        ],
        responses: { 200: { description: 'The Swagger specification.', ...body(version, { type: 'object' }) }, default: failed },
      },
    },
  };
  const schemas = { ServiceInput: input, ServiceOutput: output, ErrorResponse: error };
  if (version === '2') {
    return {
      swagger: '2.0', info, schemes: ['https'], consumes: ['application/json'], produces: ['application/json'],
      securityDefinitions: { Bearer: bearer }, paths, definitions: schemas,
    };
  }
  return {
    openapi: version === '3' ? '3.0.1' : '3.1.0', info, paths,
    ...(source.apiKey ? { security } : {}),
    components: { securitySchemes: { Bearer: bearer }, schemas },
  };
}

/** A response or request body: Swagger 2 puts the schema inline, OpenAPI 3 under content. */
function body(version: Version, schema: object, mediaType = 'application/json'): object {
  return version === '2' ? { schema } : { content: { [mediaType]: { schema } } };
}

function jsonSchema(schema: RequestSchema | undefined, target: 'draft-4' | 'openapi-3.0' | 'draft-2020-12', io: 'input' | 'output'): object {
  if (schema === undefined || typeof schema !== 'object' || !('_zod' in schema)) return OPEN_OBJECT;
  try {
    const { $schema: _ignored, ...rest } = z.toJSONSchema(schema as unknown as z.ZodType, { target, unrepresentable: 'any', io }) as Record<string, unknown>;
    return rest;
  } catch {
    return OPEN_OBJECT;
  }
}
