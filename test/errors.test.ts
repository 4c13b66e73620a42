import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import {
  RemoteHandlerError,
  ReshardError,
  SHARDING_ERROR_CODES,
  ShardingError,
} from '../src/index.js';

describe('error codes', () => {
  it('are all documented in the README errors table', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(
      readme.indexOf('## Errors'),
      readme.indexOf('## The wire protocol'),
    );
    const documented = new Set(section.match(/ERR_SHARDING_[A-Z_]+/g));
    for (const code of Object.keys(SHARDING_ERROR_CODES)) {
      assert.ok(documented.has(code), `${code} is missing from the README's errors table`);
    }
    for (const code of documented) {
      assert.ok(code in SHARDING_ERROR_CODES, `the README lists ${code}, which does not exist`);
    }
  });

  it('keep a remote error apart from a local one of the same code', () => {
    const remote = new RemoteHandlerError('stats', 'instance 2', {
      name: 'RequestTimeoutError',
      message: 'no reply',
      code: 'ERR_SHARDING_REQUEST_TIMEOUT',
    });
    assert.ok(remote instanceof ShardingError);
    assert.equal(remote.code, 'ERR_SHARDING_REMOTE_HANDLER');
    assert.equal(remote.remoteCode, 'ERR_SHARDING_REQUEST_TIMEOUT');
    assert.equal(remote.remoteName, 'RequestTimeoutError');
    assert.match(remote.message, /"stats" on instance 2 failed: RequestTimeoutError: no reply/);

    const plain = new RemoteHandlerError('stats', 'the manager', {
      name: 'TypeError',
      message: 'x',
    });
    assert.equal(plain.code, 'ERR_SHARDING_REMOTE_HANDLER');
    assert.equal(plain.remoteCode, undefined);
  });

  it("read as one sentence when they take another error's message as their reason", () => {
    const error = new ReshardError('Instance 1 was not ready within 20000 ms (it is identified).');
    assert.equal(
      error.message,
      'Resharding did not happen: Instance 1 was not ready within 20000 ms (it is identified). ' +
        'The running fleet is unchanged.',
    );
  });
});
