import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** `SO_ACCEPTCON` in the flags column of `/proc/net/unix`: the socket listens. */
const LISTENING_FLAG = 0x10000;

/**
 * The inodes of the Unix sockets that listen on `path`, from `/proc/net/unix` (Linux only).
 * A listener stays there, with its path, until it is closed, even if its file was unlinked.
 */
export function listenersOn(path: string): Set<string> {
  const inodes = new Set<string>();
  // "Num RefCount Protocol Flags Type St Inode Path", after a header line.
  for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[7] !== path) continue;
    if ((Number.parseInt(fields[3]!, 16) & LISTENING_FLAG) !== 0) inodes.add(fields[6]!);
  }
  return inodes;
}

/** The inodes of the sockets a process holds open, from `/proc/<pid>/fd`. */
export function socketInodesOf(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed while we looked
    }
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match !== null) inodes.add(match[1]!);
  }
  return inodes;
}

/** Whether process `pid` holds a socket that listens on `path`. */
export function listensOn(pid: number, path: string): boolean {
  const held = socketInodesOf(pid);
  return [...listenersOn(path)].some((inode) => held.has(inode));
}
