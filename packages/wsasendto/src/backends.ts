/**
 * Backend selection: `WSASENDTO_BACKEND` = `dgram` | `native` | `auto` (the default:
 * native where its binary loads, else dgram). A backend asked for by name that cannot
 * load makes `WSAStartup` return `WSASYSNOTREADY`, never silently another backend.
 */
import type { Backend } from "@wsasendto/core";
import { dgramBackend } from "@wsasendto/dgram";
import { loadNativeBackend } from "@wsasendto/native";

/** The names a user can ask for. */
export type BackendName = "dgram" | "native" | "auto";

/** Each backend by name: the backend, or why it cannot be had on this machine. */
const registry: Record<Exclude<BackendName, "auto">, () => Backend | string> = {
  dgram: () => dgramBackend,
  native: loadNativeBackend,
};

let explained = false;

/**
 * The backend for a requested name, or a sentence saying why it cannot be had. `auto`
 * prefers native and falls back to dgram, saying why once (a process warning,
 * `WSASENDTO_NO_NATIVE`).
 */
export function selectBackend(requested: string): Backend | string {
  if (requested === "auto") {
    const native = registry.native();
    if (typeof native !== "string") return native;
    if (!explained) {
      explained = true;
      process.emitWarning(`using the dgram backend: ${native}`, { code: "WSASENDTO_NO_NATIVE" });
    }
    return registry.dgram();
  }
  if (typeof requested !== "string") return "unknown backend (expected dgram, native or auto)";
  if (!Object.hasOwn(registry, requested)) return `unknown backend "${requested}" (expected dgram, native or auto)`;
  return registry[requested as Exclude<BackendName, "auto">]();
}
