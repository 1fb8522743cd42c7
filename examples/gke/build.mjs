// The example's bundler: what `vite build` does, in the few lines the example needs. It
// reads the build id from the environment (as Vite reads VITE_* variables), writes the
// script under a content-hashed name in dist/assets/ and an index.html that loads it.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

const buildId = process.env.VITE_BUILDGUARD_BUILD_ID ?? "development";
const script = readFileSync("src/main.js", "utf8").replace("__BUILD_ID__", buildId);
const hash = createHash("sha256").update(script).digest("hex").slice(0, 8);
rmSync("dist", { recursive: true, force: true });
mkdirSync("dist/assets", { recursive: true });
writeFileSync(`dist/assets/main-${hash}.js`, script);
const page = readFileSync("index.html", "utf8").replace("/src/main.js", `/assets/main-${hash}.js`);
writeFileSync("dist/index.html", page);
console.log(`dist/ written for build ${buildId}`);
