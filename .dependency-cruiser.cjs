// The layer rules of docs/ARCHITECTURE.md, checked on every import of src/ (type-only imports
// included) by `npm run check:layers`, which `npm test` runs first. A rule here and its line in
// docs/ARCHITECTURE.md change together.

/** Packages that do I/O or belong to one adapter: SQL, Redis, HTTP, logging, metrics, templates. */
const IO_PACKAGES = '(pg|pg-[^/]+|ioredis|fastify|fastify-[^/]+|@fastify/[^/]+|pino|pino-[^/]+|@electric-sql/[^/]+|prom-client|eta|@node-rs/[^/]+|commander)';
/** Node's built-in modules that reach files, the network or other processes. */
const IO_BUILTINS = '^(node:)?(fs|fs/promises|net|tls|dgram|dns|dns/promises|http|https|http2|child_process|cluster|worker_threads|readline|inspector)$';
/** A package import, resolved (node_modules/...) or not (a scratch tree without node_modules). */
const pkg = (names) => `(^|node_modules/)${names}(/|$)`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-no-io',
      comment: 'src/domain is pure rules: no file, network or process access from it.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { dependencyTypes: ['core'], path: IO_BUILTINS },
    },
    {
      name: 'domain-no-io-packages',
      comment: 'src/domain knows nothing of SQL, Redis, HTTP, logging or metrics libraries.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: pkg(IO_PACKAGES) },
    },
    {
      name: 'domain-no-outer-layer',
      comment: 'src/domain is the innermost layer: every other folder may import it, it imports none of them.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/(store|hot|http|console|voice|engine|app|main|cli|metrics|config|logging)/' },
    },
    {
      name: 'http-no-store',
      comment: 'The API holds no SQL: it is handed use cases (src/app) by the composition root (src/main).',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/store/' },
    },
    {
      name: 'console-no-store',
      comment: 'The console holds no SQL: it is handed use cases (src/app) by the composition root (src/main).',
      severity: 'error',
      from: { path: '^src/console/' },
      to: { path: '^src/store/' },
    },
    {
      name: 'voice-no-store',
      comment: 'Voice adapters know nothing of PostgreSQL: neither the store nor the driver.',
      severity: 'error',
      from: { path: '^src/voice/' },
      to: { path: ['^src/store/', pkg('(pg|@electric-sql/[^/]+)')] },
    },
    {
      name: 'one-composition-root',
      comment: 'Only the CLI starts the composition root; nothing else depends on how a node is wired.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(main|cli)/' },
      to: { path: '^src/main/' },
    },
    {
      name: 'no-folder-cycle',
      comment: 'The folders of src/ form layers: no folder may reach itself through another.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a type from the store is a dependency on the store.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs'],
    },
  },
};
