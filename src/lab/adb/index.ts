export {
  DEFAULT_ADB_FEATURES,
  deviceBanner,
  startAdbDeviceServer,
  type AdbDeviceServer,
  type AdbDeviceServerOptions,
} from './server.ts';
export {
  keepRegistered,
  registerWithAdbServer,
  type KeepRegisteredOptions,
  type RegisterOptions,
  type Registration,
} from './register.ts';
