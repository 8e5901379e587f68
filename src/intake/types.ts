import type { BuildFacts } from './build-props.ts';
import type { Finding } from './indicators.ts';
import type { InventoryApp } from './inventory/types.ts';
import type { PartitionFilesystem } from '../android/partition/types.ts';
import type { RunPlan } from './run-plan.ts';
import type { ImageKind } from './sniff.ts';
import type { TransplantOutcome } from '../image-build/transplant/types.ts';

/** metadata.json of a stored image. */
export interface ImageMetadata extends BuildFacts {
  version: 1;
  /** Content address: sha256 of the submitted file (of its file manifest for a directory). */
  sha256: string;
  /** What was submitted. */
  sourceKind: ImageKind;
  /** The submitted file's base name (never its full path: user paths stay out of reports). */
  sourceName: string;
  storedAt: string;
  /** Files in the entry directory besides metadata.json and inventory.json. */
  files: string[];
  /** Size of the raw system.img. */
  systemImageBytes: number;
  /** Filesystem of system.img. Entries stored before erofs support lack it: read as ext4. */
  filesystem?: PartitionFilesystem;
  /**
   * The image holds /etc/canarytrap/lab-image.json on ext4: a lab image the lab phone can boot.
   * An erofs lab image has labImageName set and labImage false.
   */
  labImage: boolean;
  labImageName: string | undefined;
  /** Set on an image canarytrap built by moving a vendor image's apps onto a base image. */
  transplant?: { vendorImageId: string; baseImageId: string; base: string };
}

/** inventory.json of a stored image. */
export interface ImageInventory {
  version: 1;
  apps: InventoryApp[];
  findings: Finding[];
  runPlan: RunPlan;
  /** In a run's inventory: what the transplant of the run plan produced and booted. */
  transplant?: TransplantOutcome;
}

/** One image in the store, as intake returns it. */
export interface StoredImage {
  /** = metadata.sha256 */
  id: string;
  /** `<dataRoot>/images/<sha256>`: the imageDir a launcher boots. */
  dir: string;
  /** `<dir>/system.img`, raw ext4 or erofs (metadata.filesystem). */
  systemImagePath: string;
  /** True when this intake found the image already stored and did no work. */
  reused: boolean;
  metadata: ImageMetadata;
  inventory: ImageInventory;
}
