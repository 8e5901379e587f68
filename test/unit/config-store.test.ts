import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';

test('CANARYTRAP_STORE: unset or empty is the data root; s3:// names bucket, prefix and endpoint', () => {
  assert.deepEqual(loadConfig({}).store, { kind: 'data-root' });
  assert.deepEqual(loadConfig({ CANARYTRAP_STORE: '' }).store, { kind: 'data-root' });
  assert.deepEqual(loadConfig({ CANARYTRAP_STORE: 's3://runs-bucket' }).store, {
    kind: 's3',
    bucket: 'runs-bucket',
    prefix: '',
    region: 'us-east-1',
  });
  assert.deepEqual(
    loadConfig({
      CANARYTRAP_STORE: 's3://runs.bucket/lab/one/',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9000',
      AWS_REGION: 'eu-west-3',
      AWS_ACCESS_KEY_ID: 'key',
      AWS_SECRET_ACCESS_KEY: 'secret',
    }).store,
    {
      kind: 's3',
      bucket: 'runs.bucket',
      prefix: 'lab/one/',
      region: 'eu-west-3',
      endpoint: 'http://127.0.0.1:9000',
      credentials: { accessKeyId: 'key', secretAccessKey: 'secret' },
    },
  );
  // The S3-specific endpoint wins over the general one, as in the AWS SDKs.
  const both = loadConfig({
    CANARYTRAP_STORE: 's3://b-1',
    AWS_ENDPOINT_URL: 'http://general:1',
    AWS_ENDPOINT_URL_S3: 'http://s3-only:2',
  }).store;
  assert.equal(both.kind === 's3' && both.endpoint, 'http://s3-only:2');
});

test('a CANARYTRAP_STORE that is not an s3:// bucket is refused, saying what it takes', () => {
  for (const [value, why] of [
    ['/srv/runs', /only s3:\/\/ stores are known/],
    ['gs://bucket', /only s3:\/\/ stores are known/],
    ['s3://', /only s3:\/\/ stores are known/],
    ['s3://Bad_Bucket', /"Bad_Bucket" is not an S3 bucket name/],
    ['s3://ok-bucket/../x', /may not hold \. or \.\. parts/],
  ] as const) {
    assert.throws(
      () => loadConfig({ CANARYTRAP_STORE: value }),
      (error: Error & { code?: string; hint?: string }) =>
        error.code === 'config-invalid' &&
        why.test(error.message) &&
        /s3:\/\/bucket/.test(error.hint ?? ''),
      value,
    );
  }
  assert.throws(
    () => loadConfig({ CANARYTRAP_STORE: 's3://ok-bucket', AWS_ENDPOINT_URL_S3: 'minio:9000' }),
    /AWS_ENDPOINT_URL_S3 is "minio:9000"/,
  );
});
