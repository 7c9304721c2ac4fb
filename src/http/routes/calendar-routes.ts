import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AvailabilityService } from '../../app/availability-service.ts';
import { ErrorEnvelope, success } from '../envelope.ts';
import { availabilityJson } from '../availability-json.ts';
import { AvailabilityQuery, AvailabilityResponse, NameParams, OpenForQuery, OpenForResponse, ServiceNameParams } from '../schemas/calendar-schemas.ts';

const errors = { 400: ErrorEnvelope, 401: ErrorEnvelope, 500: ErrorEnvelope };

/** GET /engagement/v3/callbacks/availability/{service-name} and /open-for/{service-name}. */
export function calendarRoutes(service: AvailabilityService): FastifyPluginAsync {
  return async (parent) => {
    const app = parent.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/callbacks/availability/:serviceName',
      {
        schema: {
          summary: 'Available time slots of a service',
          description: 'Slots inside business hours with capacity left (all open slots with reportBusy=true).',
          tags: ['callbacks'],
          params: ServiceNameParams,
          querystring: AvailabilityQuery,
          response: { 200: AvailabilityResponse, ...errors },
        },
      },
      async (request, reply) => {
        const availability = await service.availability(request.tenant, request.params.serviceName, request.query);
        // Sent as bytes (see availability-json.ts); the schema above still documents and tests the shape.
        return reply.type('application/json; charset=utf-8').send(availabilityJson(String(request.id), availability) as never);
      },
    );

    const openFor = {
      schema: {
        summary: 'Seconds until the office closes (0 when closed)',
        description: 'The name is a callback service (its business hours) or business hours by name.',
        tags: ['callbacks'],
        params: NameParams,
        querystring: OpenForQuery,
        response: { 200: OpenForResponse, ...errors },
      },
    };
    app.get('/callbacks/open-for/:name', openFor, async (request) =>
      success(String(request.id), { openFor: await service.openFor(request.tenant, request.params.name, request.query.start, request.query.timezone) }),
    );
    // An early GES tutorial spelled it without the hyphen.
    app.get('/callbacks/openfor/:name', { schema: { ...openFor.schema, hide: true } }, async (request) =>
      success(String(request.id), { openFor: await service.openFor(request.tenant, request.params.name, request.query.start, request.query.timezone) }),
    );
  };
}
