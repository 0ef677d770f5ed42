// Preloaded with `node --import` by module-loading.test.ts: records the URL of every module the process
// resolves (ESM imports and require() alike) and writes them as JSON when the process exits.
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const loaded = new Set();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    loaded.add(result.url);
    return result;
  },
});
process.on('exit', () => {
  writeFileSync(process.env.LOADED_MODULES_OUT, JSON.stringify([...loaded]));
});
