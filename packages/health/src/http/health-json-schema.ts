/**
 * JSON Schema (draft 2020-12 subset, ajv-compatible) of an `application/health+json` document as specified by
 * draft-inadarei-api-health-check-06. Statuses are case-insensitive and accept the draft's aliases
 * (`ok`/`up`, `error`/`down`); `output` SHOULD be omitted on pass and is refused here.
 *
 * @example
 * ```ts
 * const validate = new Ajv({ strict: false }).compile(healthJsonSchema);
 * validate(await response.json());
 * ```
 */
export const healthJsonSchema = {
  $id: 'https://ops-sdk.dev/schemas/health+json-draft-06.json',
  type: 'object',
  required: ['status'],
  properties: {
    status: { $ref: '#/$defs/status' },
    version: { type: 'string' },
    releaseId: { type: 'string' },
    notes: { type: 'array', items: { type: 'string' } },
    output: { type: 'string' },
    checks: {
      type: 'object',
      propertyNames: { pattern: '^[^:]+(:[^:]+)?$' },
      additionalProperties: { type: 'array', items: { $ref: '#/$defs/check' } },
    },
    links: { $ref: '#/$defs/links' },
    serviceId: { type: 'string' },
    description: { type: 'string' },
  },
  allOf: [{ $ref: '#/$defs/noOutputOnPass' }],
  $defs: {
    status: {
      type: 'string',
      pattern:
        '^(?:[Pp][Aa][Ss][Ss]|[Oo][Kk]|[Uu][Pp]|[Ww][Aa][Rr][Nn]|[Ff][Aa][Ii][Ll]|[Ee][Rr][Rr][Oo][Rr]|[Dd][Oo][Ww][Nn])$',
    },
    links: { type: 'object', additionalProperties: { type: 'string' } },
    noOutputOnPass: {
      if: { properties: { status: { pattern: '^(?:[Pp][Aa][Ss][Ss]|[Oo][Kk]|[Uu][Pp])$' } }, required: ['status'] },
      then: { not: { required: ['output'] } },
    },
    check: {
      type: 'object',
      properties: {
        componentId: { type: 'string' },
        componentType: { type: 'string' },
        observedValue: {},
        observedUnit: { type: 'string' },
        status: { $ref: '#/$defs/status' },
        affectedEndpoints: { type: 'array', items: { type: 'string' } },
        time: {
          type: 'string',
          pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:Z|[+-]\\d{2}:\\d{2})$',
        },
        output: { type: 'string' },
        links: { $ref: '#/$defs/links' },
      },
      allOf: [{ $ref: '#/$defs/noOutputOnPass' }],
    },
  },
} as const;
