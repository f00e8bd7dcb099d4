import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { eventCatalog, isEventType, loadJsonSchema } from './catalog';
import type { EventEnvelope } from './envelope';

import type { ValidationProblem } from '../core/errors';

export type { ValidationProblem };

export type EnvelopeCheck =
  | { ok: true; envelope: EventEnvelope }
  | { ok: false; reason: string; problems: ValidationProblem[] };

export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  return ajv;
}

export function describeErrors(errors: ErrorObject[] | null | undefined, prefix = ''): ValidationProblem[] {
  return (errors ?? []).map((e) => {
    const missing = e.keyword === 'required' ? `/${String(e.params['missingProperty'])}` : '';
    const extra = e.keyword === 'additionalProperties' ? `/${String(e.params['additionalProperty'])}` : '';
    const pointer = `${prefix}${e.instancePath}${missing || extra}`;
    const message =
      e.keyword === 'additionalProperties'
        ? 'is not an allowed property'
        : e.keyword === 'required'
          ? 'is required'
          : (e.message ?? 'is invalid');
    return { path: pointer === '' ? '/' : pointer, message };
  });
}

/** Validates envelopes and the `data` of each known event type; schemas are compiled once. */
export class EventValidator {
  private readonly envelope: ValidateFunction;
  private readonly byType = new Map<string, ValidateFunction>();

  constructor() {
    const ajv = createAjv();
    this.envelope = ajv.compile(loadJsonSchema('event-envelope.schema.json'));
    for (const info of eventCatalog()) this.byType.set(info.type, ajv.compile(info.schema));
  }

  check(candidate: unknown): EnvelopeCheck {
    if (!this.envelope(candidate)) {
      return { ok: false, reason: 'invalid_envelope', problems: describeErrors(this.envelope.errors) };
    }
    const envelope = candidate as EventEnvelope;
    const validateData = isEventType(envelope.type) ? this.byType.get(envelope.type) : undefined;
    if (!validateData) {
      return {
        ok: false,
        reason: 'unknown_event_type',
        problems: [{ path: '/type', message: `"${envelope.type}" is not a known event type; see GET /v1/event-types` }],
      };
    }
    if (!validateData(envelope.data)) {
      return { ok: false, reason: 'invalid_data', problems: describeErrors(validateData.errors, '/data') };
    }
    return { ok: true, envelope };
  }

  checkData(type: string, data: unknown): ValidationProblem[] {
    const validate = this.byType.get(type);
    if (!validate) return [{ path: '/type', message: `"${type}" is not a known event type` }];
    return validate(data) ? [] : describeErrors(validate.errors, '/data');
  }
}
