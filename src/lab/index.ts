/**
 * The lab phone: a process that looks to the rest of canarytrap exactly like a booted emulator.
 * `startLabPhone` runs one in-process; `src/lab/main.ts` is the process the lab-phone launcher spawns.
 */
export { startLabPhone, type LabPhone, type LabPhoneOptions } from './phone.ts';
export {
  createLabDevice,
  loadLabImage,
  type LabDevice,
  type LabDeviceOptions,
  type LoadedImage,
} from './os/index.ts';
export { EVENTS_FILE, IDENTITY_FILE } from './os/index.ts';
export { LAB_IMAGE_PATH_IN_SYSTEM, labImageSchema, type LabImage } from '../android/lab-image.ts';
