import type { InventoryApp } from '../../src/intake/inventory/types.ts';

/** An inventory entry of a plain system app with nothing found in it, plus `overrides`. */
export function inventoryApp(overrides: Partial<InventoryApp> = {}): InventoryApp {
  return {
    package: 'com.example.app',
    label: undefined,
    versionName: undefined,
    versionCode: undefined,
    path: '/system/app/App/App.apk',
    privileged: false,
    sharedUserId: undefined,
    systemUid: false,
    permissions: [],
    bootReceivers: [],
    exportedComponents: [],
    signingCertSha256: undefined,
    platformSigned: false,
    urls: [],
    hosts: [],
    problems: [],
    ...overrides,
  };
}
