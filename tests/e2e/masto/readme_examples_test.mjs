// The Node examples of README.md and tools/integrations/node/README.md, run as written: each block after
// a "tested: tests/e2e/masto/readme_examples_test.mjs" marker becomes a module in a scratch folder
// (with this folder's node_modules and the repository's fixtures/ beside it, as in a user's
// project) and runs under `node --test`, which fails on an uncaught error or a failed test.
// Usage: node --test readme_examples_test.mjs (MASTOTAPE in the environment)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const marker = "<!-- tested: tests/e2e/masto/readme_examples_test.mjs";

function examples(file) {
  const text = readFileSync(join(root, file), "utf8");
  const out = [];
  for (let at = text.indexOf(marker); at !== -1; at = text.indexOf(marker, at + 1)) {
    const start = text.indexOf("```js\n", at) + 6;
    out.push(text.slice(start, text.indexOf("```", start)));
  }
  return out;
}

for (const file of ["README.md", "tools/integrations/node/README.md"]) {
  const blocks = examples(file);
  test(`${file} has a tested Node example`, () => assert.ok(blocks.length >= 1));
  blocks.forEach((code, i) => {
    test(`${file}'s Node example ${i + 1} runs as written`, () => {
      const dir = mkdtempSync(join(tmpdir(), "mastotape-readme-"));
      try {
        symlinkSync(join(here, "node_modules"), join(dir, "node_modules"));
        symlinkSync(join(root, "fixtures"), join(dir, "fixtures"));
        writeFileSync(join(dir, "example.mjs"), code);
        // NODE_TEST_CONTEXT would tell the inner runner it is this one's child, and skip it.
        const { NODE_TEST_CONTEXT, ...env } = process.env;
        const run = spawnSync(process.execPath, ["--test", "example.mjs"], {
          cwd: dir, encoding: "utf8", timeout: 60000, env,
        });
        assert.equal(run.status, 0, `exit ${run.status}, signal ${run.signal}\n${run.stdout}\n${run.stderr}`);
        if (file === "README.md") assert.match(run.stdout, /conversation/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
