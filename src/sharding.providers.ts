import type { InjectionToken, Provider } from '@nestjs/common';
import { SHARDING_ROLE, type ShardingRole } from './common/sharding-role.js';
import { ClusterMembership } from './manager/cluster.membership.js';
import { IdentifyBroker } from './discord/identify.broker.js';
import { WrongRoleError } from './errors/role.error.js';
import { ShardingInstance } from './instance/sharding.instance.js';
import { IpcServer } from './ipc/ipc.server.js';
import { ShardingManager } from './manager/sharding.manager.js';
import { SHARDING_INSTANCE_CONTEXT } from './sharding.constants.js';
import { StatusPageServer } from './status-page/status-page.server.js';
import { StatusPageState } from './status-page/status-page.state.js';

/**
 * Property reads that Nest, `await` and inspection make on every provider value; a stand-in of
 * the other role answers them with `undefined` instead of failing the start-up.
 */
const INSPECTED = new Set<string | symbol>([
  'then',
  'toJSON',
  'constructor',
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
]);

/**
 * A stand-in for a provider of the other role: injecting it is harmless (one entry file serves
 * both roles), using it throws {@link WrongRoleError} naming what was used.
 */
function otherRoleStandIn(name: string, role: ShardingRole): object {
  const fail = (member: string | symbol): never => {
    throw new WrongRoleError(typeof member === 'string' ? `${name}.${member}` : name, role);
  };
  return new Proxy(Object.create(null) as object, {
    get: (_target, member) =>
      typeof member === 'symbol' || INSPECTED.has(member) ? undefined : fail(member),
    set: (_target, member) => fail(member),
    has: () => false,
  });
}

function standIns(tokens: Array<[InjectionToken, string]>, role: ShardingRole): Provider[] {
  return tokens.map(([provide, name]) => ({
    provide,
    useFactory: () => otherRoleStandIn(name, role),
  }));
}

/** The injection tokens `ShardingModule` exports in every role. */
export const ROLE_EXPORTS: InjectionToken[] = [
  ShardingManager,
  ShardingInstance,
  IpcServer,
  SHARDING_INSTANCE_CONTEXT,
];

/**
 * The providers of one role: the real ones of that side, and stand-ins that throw
 * {@link WrongRoleError} when used for the other side's.
 */
export function roleProviders(role: ShardingRole): Provider[] {
  const own: Provider[] = [{ provide: SHARDING_ROLE, useValue: role }];
  if (role === 'manager') {
    return [
      ...own,
      ShardingManager,
      IdentifyBroker,
      // Idle unless the coordination option is set.
      ClusterMembership,
      // Idle unless the statusPage option is set.
      StatusPageState,
      StatusPageServer,
      ...standIns(
        [
          [ShardingInstance, 'ShardingInstance'],
          [IpcServer, 'IpcServer'],
          [SHARDING_INSTANCE_CONTEXT, 'SHARDING_INSTANCE_CONTEXT'],
        ],
        role,
      ),
    ];
  }
  return [
    ...own,
    ShardingInstance,
    {
      // The instance's bootstrap step: serve the socket and wait for the manager's HELLO, so that
      // providers that inject the context (a Discord client's factory, say) get their shards
      // before they log in.
      provide: SHARDING_INSTANCE_CONTEXT,
      useFactory: (instance: ShardingInstance) => instance.start(),
      inject: [ShardingInstance],
    },
    {
      provide: IpcServer,
      useFactory: (instance: ShardingInstance) => instance.server,
      inject: [ShardingInstance],
    },
    ...standIns([[ShardingManager, 'ShardingManager']], role),
  ];
}
