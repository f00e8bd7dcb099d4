// The floor plan of src/ (README, "Architecture"), enforced by `npm run lint`.
// A module imports its own folder or a lower floor; folders on one floor never import each other;
// nothing imports in a cycle. The entry points on the top floor (hub, main, cli) may use each other.
const floors = [
  ['core', 'verify'],
  ['config', 'events'],
  ['transport'],
  ['subscriptions', 'connectors', 'broker/port', 'secrets', 'access', 'plans'],
  ['webhooks', 'integrations', 'tunnels'],
  ['pipeline', 'jobs'],
  ['store', 'broker/amqp', 'broker/memory'],
  ['api'],
  ['hub', 'main', 'cli'],
];
const top = floors[floors.length - 1];
const prefix = (folder) => `^src/${folder}(\\.ts$|/)`;
const any = (folders) => `(${folders.map(prefix).join('|')})`;

const floorRules = floors.flatMap((floor, level) =>
  floor.map((folder) => {
    const allowed = [...floors.slice(0, level).flat(), folder, ...(floor === top ? top : [])];
    return {
      name: `floor-${folder.replace('/', '-')}`,
      comment: `src/${folder} (floor ${level}) may import only ${allowed.join(', ')}.`,
      severity: 'error',
      from: { path: prefix(folder) },
      to: { path: '^src/', pathNot: any(allowed) },
    };
  }),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'Import cycles tie modules into one knot.', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'every-module-has-a-floor',
      comment: 'A new folder in src/ gets its floor in .dependency-cruiser.cjs first.',
      severity: 'error',
      from: { path: '^src/', pathNot: any(floors.flat()) },
      to: {},
    },
    ...floorRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
