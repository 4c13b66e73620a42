import { createRequire } from 'node:module';

/**
 * A `require` that resolves from this package's own folder, for optional peers loaded on first
 * use. A `.cts` file compiles to CommonJS in the ESM build too, so `__filename` exists in both
 * builds, where `import.meta` would not compile into the CommonJS one.
 */
export const packageRequire = createRequire(__filename);
