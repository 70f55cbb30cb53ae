import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { negotiateApiVersion, NEWEST_KNOWN_API } from '../../src/docker/docker-client.js';
import { describeDockerError } from '../../src/docker/docker-error.js';
import { parseEventLine, sinceParameter } from '../../src/docker/event-stream.js';

describe('Docker event parsing', () => {
  it('reads Type/Action/Actor and keeps timeNano exact beyond 2^53', () => {
    const line =
      '{"Type":"container","Action":"health_status: healthy","Actor":{"ID":"abc","Attributes":{"name":"web","proxytainer.group":"g"}},"scope":"local","time":1795707114,"timeNano":1795707114123456789}';
    const event = parseEventLine(line);
    assert.deepEqual(event, {
      type: 'container',
      action: 'health_status: healthy',
      id: 'abc',
      attributes: { name: 'web', 'proxytainer.group': 'g' },
      timeNano: 1795707114123456789n,
    });
  });
  it('needs no legacy status/id/from fields (Engine 29 drops them), and ignores junk', () => {
    assert.notEqual(parseEventLine('{"Type":"container","Action":"start","Actor":{"ID":"x"},"timeNano":1}'), null);
    assert.equal(parseEventLine('{"status":"start","id":"x"}'), null);
    assert.equal(parseEventLine('not json'), null);
  });
  it('writes since as seconds.nanoseconds', () => {
    assert.equal(sinceParameter(1795707114000000001n), '1795707114.000000001');
  });
});

describe('API version negotiation', () => {
  it('speaks the engine version when it is older than the newest known', () => {
    assert.equal(negotiateApiVersion({ ApiVersion: '1.41', MinAPIVersion: '1.12' }), '1.41');
  });
  it('caps at the newest known version for newer engines', () => {
    assert.equal(negotiateApiVersion({ ApiVersion: '1.60', MinAPIVersion: '1.44' }), NEWEST_KNOWN_API);
  });
  it('compares versions numerically (1.9 < 1.41)', () => {
    assert.equal(negotiateApiVersion({ ApiVersion: '1.9' }), '1.9');
  });
  it('never goes below the engine minimum', () => {
    assert.equal(negotiateApiVersion({ ApiVersion: '1.70', MinAPIVersion: '1.60' }), '1.60');
  });
});

describe('describeDockerError', () => {
  it('names the endpoint when the socket is missing', () => {
    const error = Object.assign(new Error('connect ENOENT /nope.sock'), { code: 'ENOENT' });
    assert.match(describeDockerError(error, 'unix:///nope.sock'), /cannot reach Docker at unix:\/\/\/nope\.sock: the socket does not exist/);
  });
  it("quotes the engine's message on an HTTP error", () => {
    const error = Object.assign(new Error('(HTTP code 500) server error'), { statusCode: 500, json: { message: 'OCI runtime create failed' } });
    assert.equal(describeDockerError(error, 'x'), 'Docker refused (HTTP 500): OCI runtime create failed');
  });
});
