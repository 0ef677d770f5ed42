import { z } from 'zod';

/** Building blocks for OpenAPI fragments, so each route module can describe its own paths. */

/** JSON Schema (OpenAPI 3.1 dialect) straight from a zod contract, so the docs cannot drift from the code. */
export function schema(type: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(type, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

export function jsonContent(type: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  return { 'application/json': { schema: schema(type, io) } };
}

/** A response whose body is one zod contract as JSON. */
export function jsonResponse(description: string, type: z.ZodType): Record<string, unknown> {
  return { description, content: jsonContent(type) };
}

/** A required multipart body: one file field (listed first and required) beside the form's option fields. */
export function multipartBody(
  fileField: string,
  fileSchema: Record<string, unknown>,
  formProperties: Record<string, unknown>,
): Record<string, unknown> {
  return {
    required: true,
    content: {
      'multipart/form-data': {
        schema: { type: 'object', required: [fileField], properties: { [fileField]: fileSchema, ...formProperties } },
      },
    },
  };
}

/** A required UUID path parameter (the task and batch ids). */
export function uuidPathParam(name: string, description?: string): Record<string, unknown> {
  return {
    name,
    in: 'path',
    required: true,
    ...(description === undefined ? {} : { description }),
    schema: { type: 'string', format: 'uuid' },
  };
}

export function errorResponses(codes: Record<number, string>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(codes).map(([status, description]) => [
      status,
      { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    ]),
  );
}

export type PathItems = Record<string, Record<string, Record<string, unknown>>>;

/**
 * PhotoEnhanceAI's query-parameter options (tile_size, quality_level), accepted beside the form fields of the
 * same names; the form field wins when both are sent.
 */
export function seedQueryParams(): Record<string, unknown>[] {
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
