import { Type } from 'typebox';
import { Envelope } from '../envelope.ts';

/** Request and response schemas of Click-To-Call-In (ges-api.md §1.8). */

export const CreateCallInBody = Type.Object({
  groupName: Type.String({ minLength: 1, maxLength: 100, description: 'Click-To-Call-In group of the tenant' }),
  fromPhoneNumber: Type.Optional(
    Type.String({ maxLength: 64, description: "Customer's number (national numbers in the group's default country); normalised to E.164. Empty: not given" }),
  ),
  userData: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      description: 'Attached to the inbound call once matched. Keys that are not JavaScript identifiers are dropped',
    }),
  ),
  callbackServiceId: Type.Optional(Type.String({ maxLength: 255, description: 'Id of an existing callback to associate; stored as given. Empty: not given' })),
});

export const CallInRequestData = Type.Object({
  id: Type.String({ description: 'Request id' }),
  toPhoneNumber: Type.String({ description: 'The number to dial (E.164), one of the group numbers' }),
  groupName: Type.String(),
  expirationTime: Type.Integer({ description: 'Until when the request can be matched, epoch milliseconds' }),
  accessCode: Type.Optional(Type.Integer({ description: 'Digits to key in after dialing; only when the group uses access codes' })),
  fromPhoneNumber: Type.Optional(Type.String({ description: 'E.164; only when given' })),
  callbackServiceId: Type.Optional(Type.String({ description: 'Only when given' })),
  ignoredUserDataKeys: Type.Optional(Type.Array(Type.String(), { description: 'Extension: userData keys dropped as not JavaScript identifiers' })),
});

export const CallInResponse = Envelope(CallInRequestData);
