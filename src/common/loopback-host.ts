import { isIPv4, isIPv6 } from 'node:net';

/**
 * Whether `host` names this machine only (`localhost`, `127.0.0.0/8`, `::1`), so that a page
 * bound there cannot be reached from other machines.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  if (isIPv4(bare)) return bare.startsWith('127.');
  if (isIPv6(bare)) return bare === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(bare);
  return false;
}
