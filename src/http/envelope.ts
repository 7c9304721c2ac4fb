import { Type, type TSchema } from 'typebox';

/**
 * The GES response envelope: `{status: {code, message, corrId}, data}`. `status.code` mirrors the
 * HTTP status (the reference leaves its values undocumented; this is our documented choice).
 * `status.errorCode` is our extension: the stable code from src/domain/errors.ts on refusals.
 */
export const StatusSchema = Type.Object({
  code: Type.Integer({ description: 'GES status code; equal to the HTTP status' }),
  message: Type.String({ description: '"Successful", or the cause of the failure naming the field or rule' }),
  corrId: Type.String({ description: 'Server-side correlation id of the request' }),
  errorCode: Type.Optional(Type.String({ description: 'Extension: stable error code (docs/ERRORS.md)' })),
});

export function Envelope<T extends TSchema>(data: T) {
  return Type.Object({ status: StatusSchema, data });
}

export const ErrorEnvelope = Type.Object({ status: StatusSchema, data: Type.Optional(Type.Unknown()) });

export function success<T>(corrId: string, data: T) {
  return { status: { code: 200, message: 'Successful', corrId }, data };
}
