// Fails loudly when the tests or the build would run on a Node older than the project's own.
// npm scripts put node_modules/.bin first on PATH, so `node` here is the pinned Node 24.
const required = 24;
const major = Number(process.versions.node.split('.')[0]);
if (major < required) {
  console.error(
    `nestjs-sharding: this command needs Node ${required} or newer, but it runs on Node ${process.versions.node} (${process.execPath}).\n` +
      'Run it through npm (npm test, npm run build), which uses the Node 24 that `npm ci` installs in node_modules/.bin.',
  );
  process.exit(1);
}
