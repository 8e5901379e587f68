import { z } from 'zod';

/** Canary kinds of the canary set file (DESIGN.md, "Interchange formats"). */
export const CANARY_KINDS = [
  'phone_number',
  'contact_name',
  'email',
  'sms_body',
  'call_number',
  'imei',
  'imsi',
  'iccid',
  'android_id',
  'serial',
  'wifi_mac',
  'location',
  'account',
  'free_text',
] as const;

export type CanaryKind = (typeof CANARY_KINDS)[number];

export const canarySchema = z.object({
  id: z.string().min(1),
  kind: z.enum(CANARY_KINDS),
  value: z.string().min(1),
  /** What the value stands for on the device, in words ("device identifier", "SMS from Ana"). */
  context: z.string(),
});

export const canarySetSchema = z.object({
  version: z.literal(1),
  runId: z.string().min(1),
  canaries: z.array(canarySchema),
});

export type Canary = z.infer<typeof canarySchema>;
export type CanarySet = z.infer<typeof canarySetSchema>;
