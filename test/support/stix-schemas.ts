import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { domainToASCII } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * The official OASIS STIX 2.1 JSON schemas, as the stixview package ships them, loaded into one
 * Ajv keyed by each schema's own $id so the relative $refs between them resolve offline.
 */
const require = createRequire(import.meta.url);
const SCHEMA_ROOT = join(dirname(require.resolve('stixview/package.json')), 'src', 'stix2-schemas');
const FOLDERS = ['common', 'observables', 'sdos', 'sros'] as const;
const ID_BASE =
  'http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/';

const HOSTNAME =
  /^(?=.{1,253}\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

export interface StixValidator {
  /** Every schema loaded, by the STIX type (or common name) its file is named after. */
  readonly types: ReadonlySet<string>;
  /** Errors of the bundle against bundle.json and of each object against its type's schema. */
  check(bundle: unknown): string[];
}

function describe(where: string, errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map(
    (e) => `${where}${e.instancePath || '/'}: ${e.message ?? e.keyword} (${e.schemaPath})`,
  );
}

export async function loadStixValidator(): Promise<StixValidator> {
  const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
  // The OASIS schemas are draft-07 as written, not Ajv's strict dialect (they put "title" and
  // "description" beside "$ref"), and their patterns escape "-", which ECMAScript regexps accept
  // only without the u flag.
  const ajv = addFormats(new Ajv({ strict: false, allErrors: true, unicodeRegExp: false }));
  // ajv-formats has no idn-hostname (domain-name.value): a name is one when its ASCII form is a
  // valid hostname.
  ajv.addFormat('idn-hostname', (value: string) => {
    const ascii = domainToASCII(value);
    return ascii.length > 0 && HOSTNAME.test(ascii);
  });
  const byType = new Map<string, string>();
  for (const folder of FOLDERS) {
    for (const file of (await readdir(join(SCHEMA_ROOT, folder))).filter((f) =>
      f.endsWith('.json'),
    )) {
      const schema = JSON.parse(await readFile(join(SCHEMA_ROOT, folder, file), 'utf8')) as {
        $id: string;
      };
      if (!schema.$id.startsWith(ID_BASE)) throw new Error(`unexpected $id ${schema.$id}`);
      ajv.addSchema(schema);
      if (folder !== 'common' || file === 'bundle.json') byType.set(file.slice(0, -5), schema.$id);
    }
  }
  const compiled = new Map<string, ValidateFunction>();
  const validatorFor = (id: string): ValidateFunction => {
    let fn = compiled.get(id);
    if (!fn) {
      fn = ajv.getSchema(id);
      if (!fn) throw new Error(`schema ${id} did not compile`);
      compiled.set(id, fn);
    }
    return fn;
  };
  return {
    types: new Set(byType.keys()),
    check(bundle: unknown): string[] {
      const bundleId = byType.get('bundle');
      if (!bundleId) throw new Error('bundle.json is missing');
      const validateBundle = validatorFor(bundleId);
      // An object that fails makes the bundle's oneOf list every schema it did not match; the
      // object's own schema below says what is wrong, so the bundle reports the rest only.
      const problems = validateBundle(bundle)
        ? []
        : describe(
            'bundle',
            validateBundle.errors?.filter((e) => !e.instancePath.startsWith('/objects/')),
          );
      const objects = (bundle as { objects?: unknown }).objects;
      if (!Array.isArray(objects)) return [...problems, 'bundle: no objects array'];
      for (const [index, object] of objects.entries()) {
        const type = (object as { type?: unknown }).type;
        const id = typeof type === 'string' ? byType.get(type) : undefined;
        if (!id) {
          problems.push(`objects[${index}]: no official schema for type ${String(type)}`);
          continue;
        }
        const validate = validatorFor(id);
        if (!validate(object))
          problems.push(...describe(`objects[${index}] ${String(type)}`, validate.errors));
      }
      return problems;
    },
  };
}
