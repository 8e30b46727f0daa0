#!/usr/bin/env node
// `npx gridkey ...`: the operator CLI. The CLI is TypeScript (cli/), loaded through tsx (a
// dev dependency every `npm install` brings), so nothing has to be compiled first.
const [major] = process.versions.node.split(".").map(Number);
if (major < 22) {
  process.stderr.write(`error: usage: gridkey needs Node 22 or later (this is ${process.version}); run it as \`npx gridkey\`, which uses the project's Node\n`);
  process.exit(2);
}
const { register } = await import("tsx/esm/api");
register();
await import("../cli/main.ts");
