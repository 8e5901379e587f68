// The house rules of docs/architecture.md, checked by `npm run depcheck` (part of `npm run check`).
// LAYERS is DESIGN.md's Layout from the top floor down: a module may import its own floor and the
// floors below it, never one above. config.ts, errors.ts, log.ts and terminal-text.ts sit under all
// of them.
const LAYERS = [
  'cli',
  'server',
  'doctor',
  'run',
  'queue',
  'ui',
  'intake',
  'image-build',
  'report',
  'correlate',
  'instrument',
  'canary',
  'triggers',
  'device',
  'capture',
  'android',
  'host',
];
const BOTTOM = ['config', 'errors', 'log', 'terminal-text'];
// The lab phone stands beside the house: it may use the ground floors, and nothing uses it.
const LAB_MAY_USE = ['android', 'host'];

const folder = (names) => `^src/(${names.join('|')})/`;
const bottomFile = `^src/(${BOTTOM.join('|')})\\.ts$`;

const upward = LAYERS.slice(1).map((layer, index) => ({
  name: `upward-from-${layer}`,
  comment: `src/${layer}/ may import only its own floor and those below it (DESIGN.md, Layout)`,
  severity: 'error',
  from: { path: folder([layer]) },
  to: { path: folder(LAYERS.slice(0, index + 1)) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle makes two files one concept: move what both need into a file they share',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: 'upward-from-bottom',
      comment:
        'config.ts, errors.ts, log.ts and terminal-text.ts are the bottom floor: they import only each other',
      severity: 'error',
      from: { path: bottomFile },
      to: { path: `${folder(LAYERS)}|^src/lab/` },
    },
    {
      name: 'src-imports-jobs',
      comment: 'jobs/ orchestrates src/; only the worker command (src/cli/) starts its processors',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^jobs/' },
    },
    {
      name: 'production-imports-lab',
      comment:
        'The lab phone is reached only as an emulator is: adb, console, UiAutomator2, network',
      severity: 'error',
      from: { path: '^(src|jobs|bin|hooks)/', pathNot: '^src/lab/' },
      to: { path: '^src/lab/' },
    },
    {
      name: 'lab-imports-above-ground',
      comment: 'src/lab/ may import only the ground floors (android/, host/) and the bottom files',
      severity: 'error',
      from: { path: '^src/lab/' },
      to: { path: '^src/', pathNot: `^src/lab/|${folder(LAB_MAY_USE)}|${bottomFile}` },
    },
    {
      name: 'outside-the-layers',
      comment: 'Every src/ file belongs to a floor of DESIGN.md (add a new module to LAYERS)',
      severity: 'error',
      from: {},
      to: { path: '^src/', pathNot: `${folder([...LAYERS, 'lab'])}|${bottomFile}` },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|hooks/dist|\\.data|\\.cache|test-artifacts)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
