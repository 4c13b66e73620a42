import { randomUUID } from 'node:crypto';
import type { RedisConnection } from './redis.connection.js';

/** A block's lease as this host holds it. */
export interface HeldLease {
  /** The block: shards `block × size` to `block × size + size - 1`. */
  block: number;
  /** The fencing token: it grows each time the block changes hands. */
  epoch: number;
}

/** One write of a hash field under a lease (`value` null deletes the field). */
export interface FencedWrite {
  lease: HeldLease;
  field: string | number;
  value: string | null;
}

/** The answer to a claim: held (with its epoch), or held by another host for `ms` more. */
export type ClaimResult = { held: true; epoch: number } | { held: false; ms: number };

// Every lease names its holder by host id AND by the nonce of the process that holds it: a host
// id can repeat across restarts (pid 1 in a container, a StatefulSet's stable hostname), and a
// new process must never renew, write under or release its predecessor's lease.

// KEYS: the block's lease (a hash: host, nonce, epoch), the block's epoch counter. ARGV: host,
// nonce, ttl ms. A free block is taken with the next epoch; the holder's own claim renews it.
const CLAIM = `
local lease = redis.call('HMGET', KEYS[1], 'host', 'nonce')
if lease[1] == false then
  local epoch = redis.call('INCR', KEYS[2])
  redis.call('HSET', KEYS[1], 'host', ARGV[1], 'nonce', ARGV[2], 'epoch', epoch)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {1, epoch}
end
if lease[1] == ARGV[1] and lease[2] == ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {1, tonumber(redis.call('HGET', KEYS[1], 'epoch'))}
end
return {0, redis.call('PTTL', KEYS[1])}
`;

// KEYS: leases, then their epoch counters. ARGV: host, nonce, ttl ms, then each lease's epoch. For
// each lease: renewed if still this host's at that epoch; taken again at a new epoch if nobody
// holds it (Redis restarted and forgot it: no other host can have run its shards, since they
// would hold it); lost (-1) if another host holds it.
const RENEW = `
local n = #KEYS / 2
local result = {}
for i = 1, n do
  local lease = redis.call('HMGET', KEYS[i], 'host', 'nonce', 'epoch')
  if lease[1] == ARGV[1] and lease[2] == ARGV[2] and lease[3] == ARGV[i + 3] then
    redis.call('PEXPIRE', KEYS[i], ARGV[3])
    result[i] = tonumber(lease[3])
  elseif lease[1] == false then
    local epoch = redis.call('INCR', KEYS[n + i])
    redis.call('HSET', KEYS[i], 'host', ARGV[1], 'nonce', ARGV[2], 'epoch', epoch)
    redis.call('PEXPIRE', KEYS[i], ARGV[3])
    result[i] = epoch
  else
    result[i] = -1
  end
end
return result
`;

// KEYS: the lease. ARGV: host, nonce, epoch. Frees it only if still this process's at that epoch.
const RELEASE = `
local lease = redis.call('HMGET', KEYS[1], 'host', 'nonce', 'epoch')
if lease[1] == ARGV[1] and lease[2] == ARGV[2] and lease[3] == ARGV[3] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

// KEYS: a hash, then the lease of each write. ARGV: host, nonce, then per write its lease's
// epoch, field and value ('' deletes the field). Each write is made only for its lease's holder
// at its epoch: a host that lost the block (paused past its lease) is refused, whatever it
// believes. One script per batch, so a batch lands whole and in order.
const FENCED_HSET = `
local result = {}
for i = 1, #KEYS - 1 do
  local lease = redis.call('HMGET', KEYS[i + 1], 'host', 'nonce', 'epoch')
  local at = 3 * i
  if lease[1] == ARGV[1] and lease[2] == ARGV[2] and lease[3] == ARGV[at] then
    if ARGV[at + 2] == '' then
      redis.call('HDEL', KEYS[1], ARGV[at + 1])
    else
      redis.call('HSET', KEYS[1], ARGV[at + 1], ARGV[at + 2])
    end
    result[i] = 1
  else
    result[i] = 0
  end
end
return result
`;

// KEYS: the lease, the block's epoch counter, the block's handover request. ARGV: host, nonce,
// epoch, the receiving host, its nonce, ttl ms. Hands the lease to the receiving process at the
// next epoch, if it is still this process's at that epoch, and clears the request.
const TRANSFER = `
local lease = redis.call('HMGET', KEYS[1], 'host', 'nonce', 'epoch')
if lease[1] ~= ARGV[1] or lease[2] ~= ARGV[2] or lease[3] ~= ARGV[3] then
  return 0
end
local epoch = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'host', ARGV[4], 'nonce', ARGV[5], 'epoch', epoch)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('DEL', KEYS[3])
return epoch
`;

// KEYS: every block's lease, then epoch counter, then handover request (3 × n). ARGV: nonce.
// Returns, per block: its holder ('' for none), 1 if this process holds it, 1 if it was ever
// held, and who asks for it ('' for nobody; the request is `<nonce> <host>`).
const SURVEY = `
local n = #KEYS / 3
local result = {}
for b = 1, n do
  local lease = redis.call('HMGET', KEYS[b], 'host', 'nonce')
  result[#result + 1] = lease[1] or ''
  result[#result + 1] = (lease[2] == ARGV[1]) and 1 or 0
  result[#result + 1] = redis.call('EXISTS', KEYS[n + b])
  result[#result + 1] = redis.call('GET', KEYS[2 * n + b]) or ''
end
return result
`;

/** One block as {@link BlockLeaseStore.survey} sees it. */
export interface BlockState {
  block: number;
  /** The host holding it; undefined when nobody does. */
  holder: string | undefined;
  /** Whether this very process holds it (not merely a process with this host's id). */
  mine: boolean;
  /** Whether it was ever held (a host that held it is gone when nobody holds it now). */
  everHeld: boolean;
  /** The host that asked for it to be handed over, if any. */
  requestedBy: string | undefined;
  /** The nonce of the process that asked for it, with {@link requestedBy}. */
  requestNonce: string | undefined;
}

/** A handover request's value: the asking process's nonce (no spaces), then its host id. */
function parseRequest(value: string): { host: string; nonce: string } | undefined {
  const space = value.indexOf(' ');
  return space <= 0 ? undefined : { nonce: value.slice(0, space), host: value.slice(space + 1) };
}

/**
 * The leases of shard blocks in Redis: each block (a run of `size` shards, aligned so that a
 * block holds one shard of each identify bucket) is held by one host at a time, for a TTL that
 * Redis measures, under an epoch (fencing token) that grows whenever the block changes hands.
 * Every step is one Lua script, so two hosts never both take a block.
 */
export class BlockLeaseStore {
  /**
   * This process's own mark in its leases, new with each store: a restarted host with the same
   * id is another holder, and waits for its predecessor's leases to expire.
   */
  readonly nonce = randomUUID();

  constructor(
    private readonly connection: RedisConnection,
    private readonly hostId: string,
  ) {}

  /** Takes `block` if it is free (or renews it if this host holds it). */
  async claim(block: number, ttl: number): Promise<ClaimResult> {
    const [held, value] = (await this.connection.eval(
      CLAIM,
      [this.leaseKey(block), this.connection.key('epoch', block)],
      [this.hostId, this.nonce, ttl],
    )) as [number, number];
    return held === 1 ? { held: true, epoch: value } : { held: false, ms: Math.max(1, value) };
  }

  /**
   * Renews `leases` for `ttl`. Returns each one's epoch now (a new one if Redis had forgotten
   * it and this host took it again), or undefined when another host holds it.
   */
  async renew(leases: readonly HeldLease[], ttl: number): Promise<Array<number | undefined>> {
    if (leases.length === 0) return [];
    const epochs = (await this.connection.eval(
      RENEW,
      [
        ...leases.map((lease) => this.leaseKey(lease.block)),
        ...leases.map((lease) => this.connection.key('epoch', lease.block)),
      ],
      [this.hostId, this.nonce, ttl, ...leases.map((lease) => lease.epoch)],
    )) as number[];
    return epochs.map((epoch) => (epoch === -1 ? undefined : epoch));
  }

  /** Frees `lease` at once (a graceful stop), if it is still this host's. */
  async release(lease: HeldLease): Promise<boolean> {
    const freed = await this.connection.eval(
      RELEASE,
      [this.leaseKey(lease.block)],
      [this.hostId, this.nonce, lease.epoch],
    );
    return freed === 1;
  }

  /**
   * Sets (or with null deletes) `field` of the hash `key`, only while `lease` is still this
   * host's at its epoch. Returns false when refused: the block is another host's now.
   */
  async fencedHashSet(
    lease: HeldLease,
    key: string,
    field: string | number,
    value: string | null,
  ): Promise<boolean> {
    const [written] = await this.fencedHashWrites(key, [{ lease, field, value }]);
    return written === true;
  }

  /**
   * {@link fencedHashSet} for a batch, in one script: the writes land in their order, and
   * nothing else runs between them. Returns, per write, whether it was made.
   */
  async fencedHashWrites(key: string, writes: readonly FencedWrite[]): Promise<boolean[]> {
    if (writes.length === 0) return [];
    const written = (await this.connection.eval(
      FENCED_HSET,
      [key, ...writes.map((write) => this.leaseKey(write.lease.block))],
      [
        this.hostId,
        this.nonce,
        ...writes.flatMap((write) => [write.lease.epoch, write.field, write.value ?? '']),
      ],
    )) as number[];
    return written.map((made) => made === 1);
  }

  /**
   * Hands `lease` to the process `toNonce` of host `to` (as its request named them) at the next
   * epoch (its shards no longer run here); false when it was no longer this process's.
   */
  async transfer(lease: HeldLease, to: string, toNonce: string, ttl: number): Promise<boolean> {
    const epoch = await this.connection.eval(
      TRANSFER,
      [
        this.leaseKey(lease.block),
        this.connection.key('epoch', lease.block),
        this.requestKey(lease.block),
      ],
      [this.hostId, this.nonce, lease.epoch, to, toNonce, ttl],
    );
    return epoch !== 0;
  }

  /** Asks the holder of `block` to hand it to this host; the request lapses after `ttl`. */
  async request(block: number, ttl: number): Promise<boolean> {
    const set = await this.connection.client.call(
      'SET',
      this.requestKey(block),
      `${this.nonce} ${this.hostId}`,
      'PX',
      ttl,
      'NX',
    );
    return set === 'OK';
  }

  /** Every block of `count`: its holder, whether it was ever held, and who asks for it. */
  async survey(count: number): Promise<BlockState[]> {
    const blocks = Array.from({ length: count }, (_, block) => block);
    const flat = (await this.connection.eval(
      SURVEY,
      [
        ...blocks.map((block) => this.leaseKey(block)),
        ...blocks.map((block) => this.connection.key('epoch', block)),
        ...blocks.map((block) => this.requestKey(block)),
      ],
      [this.nonce],
    )) as Array<string | number>;
    return blocks.map((block) => {
      const request = parseRequest(flat[4 * block + 3] as string);
      return {
        block,
        holder: (flat[4 * block] as string) || undefined,
        mine: flat[4 * block + 1] === 1,
        everHeld: flat[4 * block + 2] === 1,
        requestedBy: request?.host,
        requestNonce: request?.nonce,
      };
    });
  }

  /** Who holds `block` now, at which epoch (undefined: nobody). */
  async holder(block: number): Promise<{ host: string; epoch: number } | undefined> {
    const [host, epoch] = (await this.connection.client.call(
      'HMGET',
      this.leaseKey(block),
      'host',
      'epoch',
    )) as [string | null, string | null];
    return host === null || epoch === null ? undefined : { host, epoch: Number(epoch) };
  }

  private leaseKey(block: number): string {
    return this.connection.key('lease', block);
  }

  private requestKey(block: number): string {
    return this.connection.key('handover', block);
  }
}
