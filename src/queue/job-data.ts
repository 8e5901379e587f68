import type { LauncherName } from '../config.ts';
import type { Leak } from '../correlate/types.ts';
import type { ConsentDecision, ExercisePlanInput } from '../ui/plan.ts';
import type { ImageAbi } from './lanes.ts';
import type { StageName } from './names.ts';

/** Job data is plain data: where the image is and how to run it. Behaviour lives in src/. */
export interface AnalysisJobData {
  runId: string;
  /** Absolute path of the submitted image (file or directory) as the worker host sees it. */
  imagePath: string;
  /**
   * The image in the shared run store (`images/<sha256>`), when there is one: workers on other
   * hosts read it from there rather than from `imagePath`.
   */
  imageKey?: string;
  /** A display name: the lab image name or the file name. */
  imageLabel: string;
  /** An earlier run this one is compared with (rerun). */
  baselineRunId?: string;
  options: AnalysisOptions;
}

export interface AnalysisOptions {
  /** SMS, contacts and calls planted of each. Default: ANALYSIS_DEFAULTS (config.ts). */
  perProvider?: number;
  /** Device-clock hours to advance while exercising (80 by default: a 72-hour timer fires). */
  advanceHours?: number;
  /** Device-clock step when advancing (ANALYSIS_DEFAULTS). */
  stepHours?: number;
  /** Launcher to use; default chosen from the image (lab images: lab-phone). */
  launcher?: LauncherName;
  /**
   * The image's ABI, for the SDK emulator: which hosts can boot it (x86_64 unless said). It
   * decides the queue lane (src/queue/lanes.ts), so only a host of that architecture takes it.
   */
  abi?: ImageAbi;
  /**
   * Run without a cage even though the image is not a bundled lab image (the host cannot make
   * one, or the user chose so); the report says so in red. Default false: caged where possible.
   */
  uncontained?: boolean;
  /** Consent decisions overriding the plan's defaults: `{ "experience-programme": "refuse" }`. */
  consents?: Record<string, ConsentDecision>;
  /** The exercise plan (plain JSON, as in a plan file); default images/plans/default.json. */
  plan?: ExercisePlanInput;
}

/** What a job reports through BullMQ progress: stage moves and each leak as it is found. */
export type AnalysisProgress =
  | {
      type: 'stage';
      stage: StageName;
      index: number;
      total: number;
      /** `skipped`: a device stage of an image that cannot run dynamically. */
      status: 'started' | 'done' | 'failed' | 'skipped';
      message?: string;
      at: number;
    }
  | { type: 'leak'; leak: Leak; at: number }
  | { type: 'note'; stage: StageName; message: string; at: number };

export interface AnalysisResult {
  runId: string;
  runDir: string;
  verdict: string;
  leakCount: number;
  summary: string;
}
