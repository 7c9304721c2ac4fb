import { Type } from 'typebox';
import { Envelope } from '../envelope.ts';

/** Schemas of availability and open-for (ges-api.md §1.4, §1.5). */

const DateTimeParam = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 64, description }));

export const AvailabilityQuery = Type.Object({
  start: DateTimeParam('Default now. UTC (…Z) or a local time without zone, read in timezone'),
  startMS: Type.Optional(Type.Integer({ minimum: 0, maximum: 8_640_000_000_000, description: 'Epoch ms; not with start' })),
  end: DateTimeParam('Same forms as start'),
  endMS: Type.Optional(Type.Integer({ minimum: 0, maximum: 8_640_000_000_000 })),
  numberOfDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 31, description: 'Calendar days in timezone' })),
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'IANA zone; default UTC' })),
  maxTimeSlots: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  reportBusy: Type.Optional(Type.Boolean({ description: 'Include open slots that are fully booked' })),
});

export const ServiceNameParams = Type.Object({ serviceName: Type.String({ minLength: 1, maxLength: 255 }) });
export const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) });

export const Availabilities = Type.Object({
  slots: Type.Array(
    Type.Object({
      utcTime: Type.String({ format: 'date-time' }),
      localTime: Type.String({ description: 'Slot start in timezone, with its offset' }),
      capacity: Type.Integer({ description: 'Places still bookable' }),
      total: Type.Integer({ description: 'Capacity of the slot' }),
    }),
  ),
  durationMin: Type.Integer({ description: 'Slot length in minutes' }),
  timezone: Type.String(),
});

export const OpenForQuery = Type.Object({
  start: DateTimeParam('Default now; same forms as availability start'),
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
});

export const OpenForData = Type.Object({ openFor: Type.Integer({ description: 'Seconds until the office closes; 0 when closed' }) });

export const AvailabilityResponse = Envelope(Availabilities);
export const OpenForResponse = Envelope(OpenForData);
