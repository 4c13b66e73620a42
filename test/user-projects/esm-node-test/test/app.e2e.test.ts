import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Injectable } from '@nestjs/common';
import * as esm from 'nestjs-sharding';
import { type Fleet, startFleet } from './fleet.js';

// The CommonJS build of the same package, as a CommonJS dependency of this app would load it.
const commonjs = createRequire(import.meta.url)('nestjs-sharding') as typeof esm;

@Injectable()
class DecoratedByTheCommonJsBuild {
  @commonjs.OnDispatch('FROM_COMMONJS_BUILD', { role: 'manager' })
  handle() {
    return 'handled';
  }
}

describe('the sharded app (e2e)', () => {
  let fleet: Fleet;

  before(async () => {
    fleet = await startFleet(fileURLToPath(new URL('../src/main.js', import.meta.url)), [
      DecoratedByTheCommonJsBuild,
    ]);
  });

  after(async () => {
    await fleet?.close();
  });

  it('answers PING from its instance, which runs the ESM build', async () => {
    assert.ok(fleet.emulator.requests.some((request) => request.url === '/api/v10/gateway/bot'));
    assert.deepEqual(await fleet.manager.request(0, 'PING', 'hello'), {
      pong: 'hello',
      instance: 0,
      shards: [0],
      moduleSystem: 'module',
    });
  });

  describe('with the CommonJS build loaded too', () => {
    it('is a second copy: its classes differ, its error codes agree', () => {
      assert.notEqual(commonjs.ShardingModule, esm.ShardingModule);
      const error = catchError(() => new commonjs.SnowflakeService().deconstruct('not an id'));
      assert.equal(error instanceof esm.ShardingError, false);
      assert.equal((error as esm.ShardingError).code, 'ERR_SHARDING_INVALID_SNOWFLAKE');
    });

    it('draws snowflakes from the same sequence', () => {
      const copies = [new esm.SnowflakeService(), new commonjs.SnowflakeService()];
      const ids = Array.from({ length: 2_000 }, (_, index) =>
        BigInt(copies[index % 2]!.generate(1)),
      );
      for (let index = 1; index < ids.length; index++) {
        assert.ok(ids[index]! > ids[index - 1]!, `id ${index} is not after id ${index - 1}`);
      }
    });

    it("runs handlers decorated by the other copy's @OnDispatch", () => {
      const registry = fleet.app.get(esm.DispatchRegistry);
      assert.ok(registry.has('FROM_COMMONJS_BUILD'), `events: ${registry.events().join(', ')}`);
    });
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  assert.fail('nothing was thrown');
}
