// The made-up Discord world of the emulator: ids, the bot user, guilds and messages, shaped so
// that discord.js 14 caches them (a Guild with its @everyone role, a text channel and the bot's
// member; a Message in that channel).
import type { EmulatedGuild } from './gateway-emulator.records.js';

/** Discord epoch (2015-01-01T00:00:00.000Z) in ms since the Unix epoch. */
const DISCORD_EPOCH = 1_420_070_400_000n;
/** Timestamp part of the made-up guild ids: 2020-01-01, in ms since the Discord epoch. */
const GUILD_EPOCH = 1_577_836_800_000n - DISCORD_EPOCH;

/** A Discord snowflake with a timestamp part of `timestamp` (ms since the Discord epoch). */
function snowflake(timestamp: bigint, increment = 0n): string {
  return ((timestamp << 22n) | increment).toString();
}

/** The emulated bot user (also its application: same id, as for real bots). */
export const EMULATOR_BOT_USER = {
  id: snowflake(100_000_000_000n),
  username: 'emulator-bot',
  discriminator: '0',
  global_name: null,
  avatar: null,
  bot: true,
  system: false,
  verified: true,
  mfa_enabled: false,
  flags: 0,
  public_flags: 0,
} as const;

/** The emulated human who writes the event stream's messages. */
export const EMULATOR_MEMBER_USER = {
  id: snowflake(100_000_000_001n),
  username: 'emulator-user',
  discriminator: '0',
  global_name: 'Emulator User',
  avatar: null,
  public_flags: 0,
} as const;

/**
 * The `index`-th guild of `shardId` when the bot runs `totalShards` shards: its timestamp part is
 * `k * totalShards + shardId`, so `(id >> 22) % totalShards === shardId`. The same arguments give
 * the same guild, in every emulator.
 */
export function emulatedGuild(shardId: number, totalShards: number, index: number): EmulatedGuild {
  const total = BigInt(totalShards);
  const base = ((GUILD_EPOCH + total - 1n) / total) * total;
  const timestamp = base + BigInt(index) * total + BigInt(shardId);
  return {
    id: snowflake(timestamp),
    name: `Emulated guild ${shardId}.${index}`,
    channelId: snowflake(timestamp, 1n),
    shardId,
    totalShards,
  };
}

/** READY's `d`. */
export function readyData(options: {
  sessionId: string;
  resumeUrl: string;
  shardId: number;
  totalShards: number;
  guilds: readonly EmulatedGuild[];
}) {
  return {
    v: 10,
    user: EMULATOR_BOT_USER,
    user_settings: {},
    private_channels: [],
    presences: [],
    relationships: [],
    guilds: options.guilds.map((guild) => ({ id: guild.id, unavailable: true })),
    session_id: options.sessionId,
    session_type: 'normal',
    resume_gateway_url: options.resumeUrl,
    shard: [options.shardId, options.totalShards],
    application: { id: EMULATOR_BOT_USER.id, flags: 0 },
    geo_ordered_rtc_regions: [],
  };
}

/** GUILD_CREATE's `d`: a whole available guild. */
export function guildCreateData(guild: EmulatedGuild, joinedAt: string) {
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    banner: null,
    description: null,
    owner_id: EMULATOR_MEMBER_USER.id,
    application_id: null,
    afk_channel_id: null,
    afk_timeout: 300,
    widget_enabled: false,
    widget_channel_id: null,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    mfa_level: 0,
    nsfw_level: 0,
    premium_tier: 0,
    premium_subscription_count: 0,
    premium_progress_bar_enabled: false,
    preferred_locale: 'en-US',
    system_channel_id: guild.channelId,
    system_channel_flags: 0,
    rules_channel_id: null,
    public_updates_channel_id: null,
    safety_alerts_channel_id: null,
    vanity_url_code: null,
    max_members: 500_000,
    max_video_channel_users: 25,
    max_stage_video_channel_users: 50,
    features: [],
    roles: [
      {
        id: guild.id,
        name: '@everyone',
        color: 0,
        colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
        hoist: false,
        icon: null,
        unicode_emoji: null,
        position: 0,
        permissions: '2248473465835073',
        managed: false,
        mentionable: false,
        flags: 0,
      },
    ],
    emojis: [],
    stickers: [],
    joined_at: joinedAt,
    large: false,
    unavailable: false,
    lazy: true,
    member_count: 2,
    members: [
      {
        user: EMULATOR_BOT_USER,
        nick: null,
        avatar: null,
        roles: [],
        joined_at: joinedAt,
        premium_since: null,
        deaf: false,
        mute: false,
        flags: 0,
        pending: false,
      },
    ],
    channels: [
      {
        id: guild.channelId,
        type: 0,
        guild_id: guild.id,
        name: 'general',
        position: 0,
        permission_overwrites: [],
        topic: null,
        nsfw: false,
        last_message_id: null,
        rate_limit_per_user: 0,
        parent_id: null,
        flags: 0,
      },
    ],
    threads: [],
    presences: [],
    voice_states: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

let lastMessageTime = 0n;
let messageIncrement = 0n;

/** A fresh message id: now, with an increment that keeps ids unique within a millisecond. */
function messageId(): string {
  const time = BigInt(Date.now()) - DISCORD_EPOCH;
  if (time > lastMessageTime) {
    lastMessageTime = time;
    messageIncrement = 0n;
  } else {
    messageIncrement += 1n;
    if (messageIncrement > 0xfffn) {
      lastMessageTime += 1n;
      messageIncrement = 0n;
    }
  }
  return snowflake(lastMessageTime, messageIncrement);
}

/** MESSAGE_CREATE's `d`: message number `n` of the event stream, in the guild's `#general`. */
export function messageCreateData(guild: EmulatedGuild, n: number) {
  return {
    id: messageId(),
    type: 0,
    channel_id: guild.channelId,
    guild_id: guild.id,
    author: EMULATOR_MEMBER_USER,
    member: {
      roles: [],
      joined_at: new Date(0).toISOString(),
      deaf: false,
      mute: false,
      flags: 0,
    },
    content: `emulator event ${n}`,
    nonce: String(n),
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    components: [],
    pinned: false,
    flags: 0,
  };
}
