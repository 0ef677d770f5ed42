// npm puts node_modules/.bin first on PATH for scripts, so the `node` devDependency (Node 24 LTS)
// runs the project even where the machine's own Node is older. Refuse clearly if that did not happen.
const [major] = process.versions.node.split('.').map(Number);
if (major < 22) {
  console.error(
    `PhotoEnhance needs Node.js >= 22 (24 LTS recommended); this is ${process.version}.\n` +
      'Run scripts through npm (npm start, npm test) so the bundled Node 24 from node_modules/.bin is used,\n' +
      'or install Node 24 LTS.',
  );
  process.exit(1);
}
