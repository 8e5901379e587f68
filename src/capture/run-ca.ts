import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateCACertificate } from 'mockttp';
import { subjectHashOld } from './subject-hash.ts';

export interface RunCa {
  certificatePem: string;
  keyPem: string;
  subjectHashOld: string;
  certificatePath: string;
  keyPath: string;
}

/**
 * A fresh CA for one run, written to `<runDir>/ca/ca.pem` and `ca.key` (0600). A CA per run means
 * a leaked key or a CA left installed on a device is worth nothing to the next run.
 */
export async function createRunCa(runDir: string, runId: string): Promise<RunCa> {
  const generated = await generateCACertificate({
    subject: { commonName: `canarytrap run ${runId}`, organizationName: 'canarytrap' },
    bits: 2048,
  });
  const dir = join(runDir, 'ca');
  await mkdir(dir, { recursive: true });
  const certificatePath = join(dir, 'ca.pem');
  const keyPath = join(dir, 'ca.key');
  await writeFile(certificatePath, generated.cert);
  await writeFile(keyPath, generated.key, { mode: 0o600 });
  // writeFile's mode only applies when it creates the file; a rerun into the same dir must too.
  await chmod(keyPath, 0o600);
  return {
    certificatePem: generated.cert,
    keyPem: generated.key,
    subjectHashOld: subjectHashOld(generated.cert),
    certificatePath,
    keyPath,
  };
}
