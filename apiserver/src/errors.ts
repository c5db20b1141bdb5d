// Kubernetes-style API errors: every failure leaves the server as a meta/v1 Status body.

import type { JsonObject } from './json.js';

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[] },
  ) {
    super(message);
  }

  toStatus(): JsonObject {
    const status: JsonObject = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) {
      const d: JsonObject = {};
      if (this.details.name !== undefined) d['name'] = this.details.name;
      if (this.details.group !== undefined) d['group'] = this.details.group;
      if (this.details.kind !== undefined) d['kind'] = this.details.kind;
      if (this.details.causes) d['causes'] = this.details.causes.map((c) => ({ ...c }));
      status['details'] = d;
    }
    return status;
  }
}

export function notFound(resource: string, group: string, name: string): ApiError {
  const qual = group ? `${resource}.${group}` : resource;
  return new ApiError(404, 'NotFound', `${qual} "${name}" not found`, { name, group, kind: resource });
}

export function alreadyExists(resource: string, group: string, name: string): ApiError {
  const qual = group ? `${resource}.${group}` : resource;
  return new ApiError(409, 'AlreadyExists', `${qual} "${name}" already exists`, { name, group, kind: resource });
}

export function conflict(resource: string, group: string, name: string): ApiError {
  const qual = group ? `${resource}.${group}` : resource;
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qual} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group, kind: resource },
  );
}

export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): ApiError {
  const qual = group ? `${kind}.${group}` : kind;
  const msg = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ');
  return new ApiError(422, 'Invalid', `${qual} "${name}" is invalid: ${causes.length > 1 ? `[${msg}]` : msg}`, { name, group, kind, causes });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}
