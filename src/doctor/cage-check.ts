import { checkCageCapability } from '../capture/cage/index.ts';
import { missing, present, type CheckResult } from './check.ts';

/** Whether devices can run in a network cage here (docs/cage.md); without it only bundled lab images run. */
export async function checkCage(): Promise<CheckResult> {
  const capability = await checkCageCapability();
  if (capability.ok) return present('network cage', 'namespaces, veth and nftables work here');
  return missing(
    'network cage',
    capability.reason,
    'a network namespace per device, so nothing the firmware sends leaves this host and every byte is captured; without it submitted images are refused (unless --uncontained) and bundled lab images run uncaged',
    capability.hint,
  );
}
