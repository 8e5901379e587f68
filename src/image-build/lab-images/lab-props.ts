import { buildFingerprint, type LabImage } from '../../android/lab-image.ts';

/** The ABI list Android reports for a primary ABI (64-bit images also run the 32-bit one). */
export function abiList(abi: LabImage['build']['abi']): string[] {
  switch (abi) {
    case 'x86_64':
      return ['x86_64', 'x86'];
    case 'arm64-v8a':
      return ['arm64-v8a', 'armeabi-v7a', 'armeabi'];
    case 'x86':
      return ['x86'];
    case 'armeabi-v7a':
      return ['armeabi-v7a', 'armeabi'];
  }
}

/** /system/build.prop with the keys a real build writes and intake reads back. */
export function buildPropText(image: LabImage): string {
  const b = image.build;
  const props: Array<[string, string]> = [
    ['ro.build.id', b.incremental.split('.')[0] ?? b.incremental],
    [
      'ro.build.display.id',
      `${b.product}-${b.buildType} ${b.release} ${b.incremental} release-keys`,
    ],
    ['ro.build.version.incremental', b.incremental],
    ['ro.build.version.sdk', String(b.sdk)],
    ['ro.build.version.release', b.release],
    ['ro.build.version.security_patch', b.securityPatch],
    ['ro.build.type', b.buildType],
    ['ro.build.tags', 'release-keys'],
    ['ro.build.fingerprint', buildFingerprint(b)],
    ['ro.product.manufacturer', b.manufacturer],
    ['ro.product.brand', b.brand],
    ['ro.product.model', b.model],
    ['ro.product.device', b.device],
    ['ro.product.name', b.product],
    ['ro.product.cpu.abi', b.abi],
    ['ro.product.cpu.abilist', abiList(b.abi).join(',')],
    ['ro.canarytrap.lab_image', image.name],
  ];
  return [
    '# begin build properties',
    ...props.map(([k, v]) => `${k}=${v}`),
    '# end build properties',
    '',
  ].join('\n');
}

/** The SDK package descriptor that sits beside system.img in a system-image zip. */
export function sourcePropertiesText(image: LabImage): string {
  return [
    `Pkg.Desc=canarytrap lab image ${image.name}`,
    'Pkg.Revision=1',
    `AndroidVersion.ApiLevel=${image.build.sdk}`,
    `SystemImage.Abi=${image.build.abi}`,
    'SystemImage.TagId=canarytrap-lab',
    'SystemImage.TagDisplay=canarytrap lab image',
    '',
  ].join('\n');
}
