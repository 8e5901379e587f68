import { runTool } from '../../android/tools.ts';

/**
 * The SHA-256 of the first signer's certificate, as `apksigner verify --print-certs` reports it
 * (v1, v2 and v3 schemes alike). Undefined with the reason when the APK does not verify:
 * a tampered system app is itself worth reporting.
 */
export async function signingCertSha256(
  apkPath: string,
  timeoutMs: number,
): Promise<{ sha256: string | undefined; problem: string | undefined }> {
  const result = await runTool('apksigner', ['verify', '--print-certs', apkPath], {
    timeoutMs,
    allowFailure: true,
  });
  const match = /Signer #1 certificate SHA-256 digest: ([0-9a-f]{64})/.exec(result.stdout);
  if (result.exitCode === 0 && match) return { sha256: match[1], problem: undefined };
  const reason = (result.stderr || result.stdout).trim().split('\n')[0] ?? 'no signature';
  return { sha256: match?.[1], problem: `signature does not verify: ${reason}` };
}
