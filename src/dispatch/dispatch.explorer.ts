import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { DISPATCH_HANDLER_METADATA } from './dispatch.constants.js';
import { requestScopedHandlerMessage } from './dispatch.messages.js';
import { DispatchRegistry } from './dispatch.registry.js';
import type { OnDispatchMetadata } from './on-dispatch.decorator.js';

// The wrapper type through the public DiscoveryService API, not a deep import.
type ProviderWrapper = ReturnType<DiscoveryService['getProviders']>[number];

interface DecoratedMethod {
  key: string;
  metadata: OnDispatchMetadata[];
}

/**
 * Finds the `@OnDispatch` methods of the application's providers when the module initialises
 * and registers them, bound to their instance, in `DispatchRegistry`.
 *
 * Needs `DiscoveryModule` (for `DiscoveryService` and `MetadataScanner`) in the same module.
 * Skips alias providers (`useExisting`: their target is registered once, under its own class)
 * and providers without an instance; warns about and skips request-scoped providers, and
 * transient ones that depend on request-scoped providers, since a dispatch has no request.
 * Controllers are not scanned. Running the discovery again, or a second explorer over the same
 * registry, registers nothing twice.
 */
@Injectable()
export class DispatchExplorer implements OnModuleInit {
  private readonly logger = new Logger(DispatchExplorer.name);
  // Wrappers already warned about, so a repeated discovery does not repeat the warning.
  private readonly warned = new WeakSet<object>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly registry: DispatchRegistry,
  ) {}

  /** Registers the handlers (Nest calls it once the providers exist). */
  onModuleInit(): void {
    this.explore();
  }

  /**
   * Scans the providers now and registers every `@OnDispatch` method not registered yet.
   *
   * @returns how many (method, event) handlers were added.
   */
  explore(): number {
    let added = 0;
    for (const wrapper of this.discovery.getProviders()) {
      if (wrapper.isAlias) continue;
      const methods = this.decoratedMethods(wrapper);
      if (methods.length === 0) continue;
      if (!wrapper.isDependencyTreeStatic()) {
        this.warnRequestScoped(wrapper, methods);
        continue;
      }
      const instance: unknown = wrapper.instance;
      if (!isObject(instance)) continue;
      for (const { key, metadata } of methods) {
        for (const { events, options } of metadata) {
          for (const event of events) {
            const role = options.role;
            if (this.registry.registerMethod(instance, key, event, role ? { role } : {})) added++;
          }
        }
      }
    }
    return added;
  }

  private decoratedMethods(wrapper: ProviderWrapper): DecoratedMethod[] {
    const prototype = prototypeOf(wrapper);
    if (prototype === undefined) return [];
    const methods: DecoratedMethod[] = [];
    for (const key of this.scanner.getAllMethodNames(prototype)) {
      const method: unknown = (prototype as Record<string, unknown>)[key];
      if (typeof method !== 'function') continue;
      const metadata = this.reflector.get<OnDispatchMetadata[] | undefined>(
        DISPATCH_HANDLER_METADATA,
        method,
      );
      if (metadata !== undefined && metadata.length > 0) methods.push({ key, metadata });
    }
    return methods;
  }

  private warnRequestScoped(wrapper: ProviderWrapper, methods: DecoratedMethod[]): void {
    if (this.warned.has(wrapper)) return;
    this.warned.add(wrapper);
    const name = typeof wrapper.name === 'string' ? wrapper.name : String(wrapper.token);
    this.logger.warn(
      requestScopedHandlerMessage(
        name,
        methods.map(({ key }) => key),
      ),
    );
  }
}

// The prototype to scan: the instance's when there is one; for a class provider that has none
// (request-scoped providers may not), its class's.
function prototypeOf(wrapper: ProviderWrapper): object | undefined {
  const instance: unknown = wrapper.instance;
  if (isObject(instance)) return Object.getPrototypeOf(instance) ?? undefined;
  const metatype: unknown = wrapper.metatype;
  if (wrapper.inject == null && typeof metatype === 'function' && isObject(metatype.prototype)) {
    return metatype.prototype;
  }
  return undefined;
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}
