/**
 * The kernel's count of datagrams it dropped for a UDP socket that node:dgram owns (its
 * receive buffer was full while Node was busy). Node does not expose the socket's file
 * descriptor, so on Linux the count is read from the socket's row of /proc/net/udp (or
 * udp6), found by its local address and port: the last column of the row is `drops`.
 * Elsewhere, or when the row cannot be told apart, the count is unknown (`undefined`).
 */
import { readFileSync } from "node:fs";
import { endianness } from "node:os";
import { type Endpoint, parseIPv4, parseIPv6 } from "@wsasendto/core";

const LITTLE_ENDIAN = endianness() === "LE";

/** The hex of an address as /proc/net/udp prints it: each 32-bit word in host byte order. */
export function procAddressHex(bytes: Uint8Array): string {
  let hex = "";
  for (let word = 0; word < bytes.length; word += 4) {
    const order = LITTLE_ENDIAN ? [3, 2, 1, 0] : [0, 1, 2, 3];
    for (const i of order) hex += (bytes[word + i] as number).toString(16).padStart(2, "0");
  }
  return hex.toUpperCase();
}

/**
 * The `drops` column of the one socket in `table` (the text of /proc/net/udp or udp6)
 * whose local address is `addressHex` (as {@link procAddressHex} gives it) and port is
 * `port`; undefined when no socket or several match. Rows are told apart by inode: the
 * kernel may print a row twice when sockets come and go while the file is read.
 */
export function dropsFromTable(table: string, addressHex: string, port: number): number | undefined {
  const local = `${addressHex}:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const byInode = new Map<string, number>();
  for (const line of table.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] !== local) continue;
    byInode.set(fields[9] ?? "", Number(fields[fields.length - 1]));
  }
  const [drops] = byInode.values();
  return byInode.size === 1 && Number.isSafeInteger(drops) ? drops : undefined;
}

/** Reads of the table before giving up on a socket missing from it (sockets coming and going can hide a row). */
const READS = 3;

/** The kernel's drops for the socket bound to `local`, or undefined where they cannot be told. */
export function kernelDrops(local: Endpoint): number | undefined {
  if (process.platform !== "linux") return undefined;
  const bytes = local.family === 4 ? parseIPv4(local.address) : parseIPv6(local.address);
  if (!bytes) return undefined;
  const hex = procAddressHex(bytes);
  const path = local.family === 4 ? "/proc/net/udp" : "/proc/net/udp6";
  for (let i = 0; i < READS; i++) {
    try {
      const drops = dropsFromTable(readFileSync(path, "latin1"), hex, local.port);
      if (drops !== undefined) return drops;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
