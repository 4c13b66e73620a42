import { readInstanceLaunch } from './process-role.js';

/**
 * The logger context of a class in a sharding instance: its name and the instance index
 * (`ShardingInstance 3`), so that the lines of many instances on one terminal or log stream say
 * which instance wrote them. Just the name where no manager launched this process.
 */
export function instanceLogContext(name: string): string {
  try {
    return `${name} ${readInstanceLaunch().instance}`;
  } catch {
    return name;
  }
}
