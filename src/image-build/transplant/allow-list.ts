/**
 * The privileged-permission allow-list Android reads from /system/etc/permissions/ (enforced
 * since Android 8.0, API 26): a privileged app is granted exactly the privileged permissions
 * listed for it there, and on enforcing builds it does not boot without them.
 */

export function allowListPath(manufacturer: string | undefined): string {
  return `/system/etc/permissions/privapp-permissions-${vendorSlug(manufacturer)}.xml`;
}

/** `Zeno Mobile` → `zeno-mobile`; nothing usable → `vendor`. */
export function vendorSlug(manufacturer: string | undefined): string {
  const slug = (manufacturer ?? '')
    .toLowerCase()
    .replaceAll(/[^a-z0-9]+/g, '-')
    .replaceAll(/^-+|-+$/g, '');
  return slug || 'vendor';
}

export function allowListXml(
  entries: ReadonlyArray<{ package: string; permissions: readonly string[] }>,
): string {
  const lines = ['<?xml version="1.0" encoding="utf-8"?>', '<permissions>'];
  for (const entry of entries) {
    lines.push(`    <privapp-permissions package="${xmlAttr(entry.package)}">`);
    for (const permission of entry.permissions) {
      lines.push(`        <permission name="${xmlAttr(permission)}"/>`);
    }
    lines.push('    </privapp-permissions>');
  }
  lines.push('</permissions>', '');
  return lines.join('\n');
}

function xmlAttr(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}
