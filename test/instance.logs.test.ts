// Instance log lines name their instance: a fleet's instances usually share one log stream.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { instanceLogContext } from '../src/runtime/instance-log-context.js';
import { SHARDING_ENV } from '../src/sharding.constants.js';

const saved = { ...process.env };
afterEach(() => {
  for (const name of Object.values(SHARDING_ENV)) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

describe('instance log context', () => {
  it('is the class name and the instance index in an instance a manager launched', () => {
    process.env[SHARDING_ENV.MANAGER_ID] = '1';
    process.env[SHARDING_ENV.INSTANCE_ID] = '2';
    process.env[SHARDING_ENV.INSTANCE] = '3';
    process.env[SHARDING_ENV.SOCKET_ROOT] = '/tmp/unused';
    assert.equal(instanceLogContext('ShardingInstance'), 'ShardingInstance 3');
  });

  it('is the class name alone where no manager launched the process', () => {
    for (const name of Object.values(SHARDING_ENV)) delete process.env[name];
    assert.equal(instanceLogContext('ShardingInstance'), 'ShardingInstance');
  });
});
