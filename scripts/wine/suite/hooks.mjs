// `--import` this (through NODE_OPTIONS, so that each file's process gets it) to run the
// Vitest test files under node:test: see loader.mjs.
import { register } from "node:module";

register("./loader.mjs", import.meta.url);
