// The first module the bundle runs: it imports nothing, so an older Node gets one clear line instead of a crash in
// a dependency (execa and the Azure SDK need Node 22+ and die with errors such as `TEXT_ENCODINGS.union is not a
// function`).

export const REQUIRED_NODE_MAJOR = 24;

/** The line to print when `version` (process.versions.node) is too old to run the bundle; undefined when it is fine. */
export function unsupportedNodeMessage(version: string): string | undefined {
  const major = Number.parseInt(version.split('.')[0] ?? '', 10);
  if (Number.isInteger(major) && major >= REQUIRED_NODE_MAJOR) return undefined;
  return (
    `w365-image needs Node.js ${REQUIRED_NODE_MAJOR} or newer, and this is Node.js ${version}: in a clone of the ` +
    `repository, \`npm ci\` installs Node.js ${REQUIRED_NODE_MAJOR} into node_modules/.bin and the npm scripts ` +
    `(\`npm start\`, \`npm test\`) use it (or run \`node_modules/.bin/node dist/index.js\`); elsewhere install ` +
    `Node.js ${REQUIRED_NODE_MAJOR} from https://nodejs.org.`
  );
}

const message = unsupportedNodeMessage(process.versions.node);
if (message !== undefined) {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}
