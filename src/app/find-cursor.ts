import { GesError } from '../domain/errors.ts';
import { isCallbackId } from '../domain/callback-id.ts';

/** find's paging cursor: the last callback's desired time and id, opaque to the client. */
export function encodeCursor(desiredTime: Date, id: string): string {
  return Buffer.from(`${desiredTime.toISOString()}|${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { desiredTime: Date; id: string } {
  const [time, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const desiredTime = new Date(time ?? '');
  if (!id || !isCallbackId(id) || Number.isNaN(desiredTime.getTime())) {
    throw new GesError('GES_CURSOR_INVALID', 'cursor is not one returned by find');
  }
  return { desiredTime, id };
}
