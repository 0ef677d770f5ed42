import { type Hook, OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import {
  EnhanceFormSchema,
  OUTPUT_FORMAT_FIELD_VALUES,
  PhotoEnhanceError,
  PRECISIONS,
  SEED_QUALITY_LEVELS,
  TaskIdSchema,
} from '@photoenhance/contracts';
import type { ParameterObject, SchemaObject } from 'openapi3-ts/oas31';
import { z } from 'zod';
import type { AppEnv } from './env.ts';
import { fromZodError } from './errors.ts';

/** One answer of a route (the library names this type but does not export it). */
export type ResponseConfig = Exclude<RouteConfig['responses'][string], { $ref: string }>;

/**
 * Building blocks for the routes' createRoute definitions (@hono/zod-openapi): each route states its
 * parameters, body and answers next to its handler, from the zod contracts, and the document is generated
 * from the registered routes (routes/docs/document.ts).
 */

/**
 * What a failed route validation answers: this API's error shape, never the library's default. A path
 * parameter names itself (`task_id must be a UUID v4`, as parseId says it) with INVALID_INPUT; anything else is
 * an option, INVALID_OPTIONS naming the field (fromZodError), as the handlers' own parsing answers.
 */
export const validationHook: Hook<unknown, AppEnv, string, undefined> = (result) => {
  if (result.success) return undefined;
  if (result.target === 'param') {
    const issue = result.error.issues[0];
    const field = String(issue?.path[0] ?? 'id');
    throw new PhotoEnhanceError('INVALID_INPUT', `${field} ${issue?.message ?? 'is invalid'}`, { details: { field } });
  }
  throw fromZodError(result.error);
};

/** A router whose routes register their OpenAPI description; validation failures throw PhotoEnhanceError. */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

/** JSON Schema (OpenAPI 3.1 dialect) of a zod contract, for the parts of a route that are described only. */
export function jsonSchema(type: z.ZodType, io: 'input' | 'output'): SchemaObject {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(type, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest as SchemaObject;
}

/**
 * Answers are typed as the library's ResponseConfig (content optional) on purpose: the handlers answer with
 * c.json(body) typed by the contracts, plus streams, redirects and 204s, and stay unchanged by this step.
 */
export function jsonResponse(description: string, type: z.ZodType): ResponseConfig {
  return { description, content: { 'application/json': { schema: type } } };
}

/** A non-JSON answer (a file, a stream, text) of the given media types. */
export function bodyResponse(
  description: string,
  mediaTypes: Record<string, SchemaObject> | string,
  extra: Record<string, unknown> = {},
): ResponseConfig {
  const types = typeof mediaTypes === 'string' ? { [mediaTypes]: { type: 'string' } as SchemaObject } : mediaTypes;
  return {
    description,
    content: Object.fromEntries(Object.entries(types).map(([type, schema]) => [type, { schema, ...extra }])),
  };
}

/** Error answers, all {error: {code, message, details?}, detail} (components.schemas.Error). */
export function errorResponses(codes: Record<number, string>): Record<number, ResponseConfig> {
  return Object.fromEntries(
    Object.entries(codes).map(([status, description]) => [
      status,
      { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    ]),
  );
}

/**
 * A JSON request body, described but not validated by the library: each handler reads its own body (raw text
 * for the HMAC-signed worker routes, an empty body allowed on start, its own messages for malformed JSON) with
 * the same contract. A zod schema here would make the library read and re-validate it first.
 */
export function describedJsonBody(type: z.ZodType, options: { required: boolean } = { required: true }) {
  return { required: options.required, content: { 'application/json': { schema: jsonSchema(type, 'input') } } };
}

/**
 * A multipart upload body: one file field (listed first, required) beside the form's option fields. Described
 * only (a JSON Schema, not zod): a zod form schema would make the library buffer the whole body through
 * parseBody, while these routes stream it with busboy to storage as it arrives.
 */
export function multipartBody(fileField: string, fileSchema: SchemaObject, formProperties: Record<string, unknown>) {
  return {
    required: true,
    content: {
      'multipart/form-data': {
        schema: {
          type: 'object',
          required: [fileField],
          properties: { [fileField]: fileSchema, ...formProperties },
        } as SchemaObject,
      },
    },
  };
}

/** The enhance form's fields (POST /api/v1/enhance, the batch and the video routes), from EnhanceFormSchema. */
export function enhanceFormProperties(): Record<string, SchemaObject> {
  const form = jsonSchema(EnhanceFormSchema, 'input') as { properties: Record<string, SchemaObject> };
  // Input sides of preprocessed enums are plain strings: name the accepted values.
  form.properties.quality_level = {
    type: 'string',
    enum: [...SEED_QUALITY_LEVELS],
    description: 'Seed levels; low = fast',
  };
  form.properties.precision = {
    type: 'string',
    enum: [...PRECISIONS],
    default: 'auto',
    description:
      'Upscaler precision. auto = int8 on CPU workers for models whose int8 variant passed the fidelity floor (≥ 40 dB whole image, ≥ 34 dB worst 64² patch against fp32), fp16 on GPU workers, else fp32. An explicit variant the model does not ship is refused (400 INVALID_OPTIONS). The variant used is listed in result.models as id@variant.',
  };
  form.properties.output_format = { type: 'string', enum: [...OUTPUT_FORMAT_FIELD_VALUES] };
  return form.properties;
}

/** A task or batch id in the path: validated (UUID v4, TaskIdSchema) before the handler runs. */
function idParam(description: string) {
  return TaskIdSchema.meta({ format: 'uuid', description });
}
export const taskIdParams = z.object({
  task_id: idParam('Task id (UUID v4) returned by POST /api/v1/enhance (or the upload and video routes)'),
});
export const batchIdParams = z.object({
  batch_task_id: idParam('Batch id (UUID v4) returned by POST /api/v1/enhance/batch or POST /api/v1/batches'),
});
/** A file name in the path (web and Swagger UI assets); the handler answers 404 for any it does not serve. */
export function fileParams(description: string) {
  return z.object({ file: z.string().meta({ description }) });
}

/**
 * PhotoEnhanceAI's query-parameter options (tile_size, quality_level), accepted beside the form fields of the
 * same names; the form field wins when both are sent. Described only: the handler merges them into the form
 * (withSeedQueryOptions) and validates them with it, so a bad query value the form overrides stays harmless.
 */
export function seedQueryParams(): ParameterObject[] {
  return [
    {
      name: 'tile_size',
      in: 'query',
      required: false,
      description: 'Tile side in input pixels (PhotoEnhanceAI: 256–512; here 0–4096, 0 = whole image when it fits)',
      schema: { type: 'integer', minimum: 0, maximum: 4096 },
    },
    {
      name: 'quality_level',
      in: 'query',
      required: false,
      description: 'fast, medium, high (PhotoEnhanceAI), also low (= fast) and auto',
      schema: { type: 'string', enum: ['fast', 'medium', 'high', 'low', 'auto'] },
    },
  ];
}

/** A `true`/`false` switch in the query, described only: the handler treats anything but `true` as off. */
export function flagQueryParam(name: string, description: string): ParameterObject {
  return { name, in: 'query', required: false, description, schema: { type: 'string', enum: ['true', 'false'] } };
}
