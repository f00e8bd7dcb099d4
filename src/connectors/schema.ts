import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { compileJsonata } from '../core/jsonata';
import { loadJsonSchema } from '../events/catalog';

/**
 * The ajv instance for manifests and for the config schemas they declare:
 * draft 2020-12, strict, with the manifest's own vocabulary ("x-secret" marks a
 * secret config field, "format": "jsonata" a field that must compile).
 */
export function connectorAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, discriminator: true });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'x-secret', schemaType: 'boolean' });
  ajv.addFormat('jsonata', {
    type: 'string',
    validate: (source: string) => {
      try {
        compileJsonata(source);
        return true;
      } catch {
        return false;
      }
    },
  });
  return ajv;
}

let manifest: ValidateFunction | null = null;
let fixture: ValidateFunction | null = null;

export function manifestValidator(): ValidateFunction {
  manifest ??= connectorAjv().compile(loadJsonSchema('connector.schema.json'));
  return manifest;
}

export function fixtureValidator(): ValidateFunction {
  fixture ??= connectorAjv().compile(loadJsonSchema('connector-fixture.schema.json'));
  return fixture;
}
