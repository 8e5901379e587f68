import type { Command } from 'commander';
import {
  ImageStore,
  intakeImage,
  transplantSettings,
  type InventoryApp,
  type RunPlan,
  type StoredImage,
} from '../intake/index.ts';
import { terminalSafe, terminalSafeJson } from '../terminal-text.ts';
import { resolveImageArgument } from './image-argument.ts';
import { action, cliRuntime } from './runtime.ts';

/**
 * `canarytrap inspect`: intake without a run. The image is stored (so a later submit reuses
 * the work) and its metadata, inventory, findings and run plan are printed; nothing is queued.
 */
export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description(
      'store an image and print its build facts, pre-installed apps, indicator findings and run plan, without queueing a run',
    )
    .argument(
      '<image>',
      'image path (zip, directory, ext4, erofs, sparse, payload.bin, super.img) or a lab image name',
    )
    .option('--json', 'print one JSON document')
    .addHelpText('after', '\nExit codes: 0 inspected, 3 bad image, 5 a tool is missing.')
    .action(
      action(async (image: string, flags: { json?: boolean }) => {
        const { config, logger } = cliRuntime();
        const resolved = await resolveImageArgument(image, config);
        const settings = await transplantSettings(config);
        const stored = await intakeImage(resolved.path, new ImageStore(config.dataRoot), {
          logger,
          bases: settings.bases,
          ...(settings.emulator ? { emulator: settings.emulator } : {}),
        });
        process.stdout.write(
          flags.json
            ? `${terminalSafeJson(inspection(stored, resolved.label))}\n`
            : renderInspection(stored, resolved.label),
        );
        return 0;
      }),
    );
}

export function inspection(stored: StoredImage, label: string) {
  return {
    image: label,
    id: stored.id,
    reused: stored.reused,
    metadata: stored.metadata,
    apps: stored.inventory.apps,
    findings: stored.inventory.findings,
    runPlan: stored.inventory.runPlan,
  };
}

/** Every line quotes the image (build properties, manifests, paths), so each is terminal-safe. */
function renderInspection(stored: StoredImage, label: string): string {
  const m = stored.metadata;
  const lines = [
    `${label}  ${stored.id.slice(0, 12)}${stored.reused ? ' (already stored)' : ''}`,
    `  fingerprint     ${m.fingerprint ?? '?'}`,
    `  device          ${[m.manufacturer, m.model].filter(Boolean).join(' ') || '?'} (${m.device ?? '?'})`,
    `  android         ${m.androidVersion ?? '?'} (API ${m.apiLevel ?? '?'}), patch ${m.securityPatch ?? '?'}, ${m.buildType ?? '?'}`,
    `  abis            ${m.abis.join(', ') || '?'}`,
    `  system          ${m.filesystem ?? 'ext4'}, ${m.systemImageBytes} bytes, from ${m.sourceKind}`,
    `  lineage         ${m.lineage ?? '?'}`,
    '',
    `Apps (${stored.inventory.apps.length}):`,
    ...stored.inventory.apps.flatMap(appLines),
    '',
    `Findings (${stored.inventory.findings.length}):`,
    ...(stored.inventory.findings.length === 0 ? ['  none'] : []),
    ...stored.inventory.findings.flatMap((f) => [
      `  [${f.severity}] ${f.title} — ${f.package} (${f.ruleId})`,
      ...f.evidence.map((e) => `      ${e.kind}: ${e.value}`),
    ]),
    '',
    `Run plan: ${stored.inventory.runPlan.mode} — ${stored.inventory.runPlan.reason}`,
    ...transplantLines(stored.inventory.runPlan),
  ];
  return `${lines.map(terminalSafe).join('\n')}\n`;
}

function transplantLines(plan: RunPlan): string[] {
  const t = plan.transplant;
  if (!t) return [];
  return [
    `  base            ${t.base.name} (API ${t.base.apiLevel}, ${t.base.abi}, ${t.base.kind}) on the ${t.base.launcher}`,
    ...t.moves.map(
      (m) =>
        `  move            ${m.package}  ${m.from} -> ${m.to}${m.privilegedPermissions.length ? `  [allow-listed: ${m.privilegedPermissions.map((p) => p.replace(/^android\.permission\./, '')).join(', ')}]` : ''}`,
    ),
    ...t.skipped.map((s) => `  stays           ${s.package}  ${s.path}: ${s.reason}`),
    ...(t.allowList.entries.length ? [`  allow-list      ${t.allowList.path}`] : []),
    ...t.limitations.map((l) => `  limitation      ${l}`),
  ];
}

function appLines(app: InventoryApp): string[] {
  const flags = [
    app.privileged ? 'priv-app' : undefined,
    app.platformSigned ? 'platform-signed' : undefined,
    app.sharedUserId ? `sharedUserId=${app.sharedUserId}` : undefined,
  ].filter((f): f is string => f !== undefined);
  const notable = app.permissions
    .filter((p) => p.protection === 'dangerous' || p.protection === 'privileged')
    .map((p) => `${p.name.replace(/^android\.permission\./, '')} (${p.protection})`);
  return [
    `  ${app.package} ${app.versionName ?? ''}  ${app.path}${flags.length ? `  [${flags.join(', ')}]` : ''}`,
    ...(notable.length ? [`      permissions: ${notable.join(', ')}`] : []),
    ...(app.bootReceivers.length ? [`      boot receivers: ${app.bootReceivers.join(', ')}`] : []),
    ...(app.hosts.length ? [`      hosts: ${app.hosts.join(', ')}`] : []),
    ...app.problems.map((p) => `      problem: ${p}`),
  ];
}
