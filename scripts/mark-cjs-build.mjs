// The CommonJS build lives inside a "type": "module" package: a package.json of its own in
// dist/cjs makes Node (and TypeScript) read its .js and .d.ts files as CommonJS.
import { writeFileSync } from 'node:fs';

writeFileSync(
  new URL('../dist/cjs/package.json', import.meta.url),
  `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`,
);
