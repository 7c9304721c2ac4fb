import { pino, type Logger } from 'pino';
import { serializeError } from './error-serializer.ts';

/**
 * The process logger. Request lines carry the correlation id (`corrId`); request serializers keep
 * only method and path, so query strings, bodies (phone numbers, userData) and headers (API keys)
 * never reach the log. Code that must mention a number logs it through maskPhone(), and errors pass
 * through serializeError, which keeps no value a database error quotes.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { svc: 'ges' },
      redact: { paths: ['*.phoneNumber', '*.userData', '*.headers["x-api-key"]', '*.apiKey', 'apiKey', 'userData', 'phoneNumber'], censor: '[redacted]' },
      serializers: {
        // Database errors quote the values they refused (userData, numbers): error-serializer.ts strips them.
        err: serializeError,
        error: serializeError,
        req: (req: { method?: string; url?: string }) => ({ method: req.method, path: (req.url ?? '').split('?')[0] }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}
