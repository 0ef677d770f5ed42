// Prints the log ref of each id given (task, batch, upload or video), so an operator holding an id can find its
// lines: `npm run log-ref -- <id> | xargs -I{} grep {} api.log`. Uses LOG_REF_SECRET from the environment, as
// the services do; run it with the same value they run with.

import { isValidId } from '@photoenhance/contracts';
import { CommonEnvShape, loadConfig, logRef } from '@photoenhance/core';
import { z } from 'zod';

const ids = process.argv.slice(2);
if (ids.length === 0) {
  process.stderr.write('usage: npm run log-ref -- <id> [<id> …]   (uses LOG_REF_SECRET from the environment)\n');
  process.exit(2);
}
let secret: string | undefined;
try {
  secret = loadConfig(z.object({ LOG_REF_SECRET: CommonEnvShape.LOG_REF_SECRET }), process.env).LOG_REF_SECRET;
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
let bad = false;
for (const id of ids) {
  if (!isValidId(id)) {
    process.stderr.write(`not an id (a UUID): ${id}\n`);
    bad = true;
    continue;
  }
  process.stdout.write(`${logRef(id, secret)}\n`);
}
process.exit(bad ? 2 : 0);
