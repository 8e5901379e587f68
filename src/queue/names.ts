/** Queue names, shared by producers and workers on every host. */
export const ANALYSIS_QUEUE = 'analysis';

/** The stages of one analysis, in order (DESIGN.md "Pipeline"). */
export const STAGES = [
  'intake',
  'boot',
  'prepare',
  'plant',
  'exercise',
  'collect',
  'correlate',
  'report',
] as const;
export type StageName = (typeof STAGES)[number];
