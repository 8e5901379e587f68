import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

/** A CA of the test's own and one server certificate it issued. */
export interface IssuedCertificate {
  caPem: string;
  keyPem: string;
  certPem: string;
}

/**
 * Makes a CA and a server certificate for `names` (host names and IP addresses, as
 * subjectAltName entries) with the openssl CLI; nothing is kept on disk afterwards.
 */
export async function issueServerCertificate(names: readonly string[]): Promise<IssuedCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'test-certs-'));
  const openssl = (args: string[]) => execa('openssl', args, { cwd: dir, timeout: 20_000 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await openssl([
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=canarytrap test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    ]);
    await openssl([
      'req',
      ...ec,
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=server',
    ]);
    const san = names.map((name) => (/^[\d.]+$/.test(name) ? `IP:${name}` : `DNS:${name}`));
    await writeFile(join(dir, 'ext.cnf'), `subjectAltName=${san.join(',')}\n`);
    await openssl([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
    ]);
    const read = (name: string) => readFile(join(dir, name), 'utf8');
    return {
      caPem: await read('ca.pem'),
      keyPem: await read('server.key'),
      certPem: await read('server.pem'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
