/** The run report: model, builder, HTML page, diff of two runs. */
export { buildReport } from './build.ts';
export { parseReport } from './read.ts';
export { renderReportHtml, renderReportBody, type ReportHtmlOptions } from './html.ts';
export { diffReports } from './diff.ts';
export { renderDiffBody, renderDiffHtml } from './diff-html.ts';
export { renderDiffText } from './diff-text.ts';
export { opaqueFlowLine, unreadFlows } from './opaque.ts';
export { REPORT_CSS } from './html-page.ts';
export { escapeHtml, markup, SafeHtml } from './html-kit.ts';
export type {
  ReportDiff,
  DiffSide,
  DiffGroup,
  KindDiff,
  ChannelDiff,
  KindStatus,
  ChannelStatus,
  Hiding,
  HidingEvidence,
  HidingMatch,
} from './diff.ts';
export {
  REPORT_VERSION,
  type Report,
  type ReportInput,
  type RunInfo,
  type ImageInfo,
  type LauncherName,
  type StageRecord,
  type StageStatus,
  type Verdict,
  type VerdictStatus,
  type ReportSummary,
  type Totals,
  type KindCount,
  type HostCount,
  type AppCount,
  type Channel,
  type Destination,
  type OpaqueFlow,
  type OpaqueReason,
  type ReportCanary,
} from './model.ts';
export { buildStixBundle, uuidv5, type StixBundle, type StixObject } from './export-stix.ts';
