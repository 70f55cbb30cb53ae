import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { heldLimitWarning, openFileLimit } from '../../src/cli/fd-limit.js';

describe('the open-file limit', () => {
  it('is read from /proc/self/limits, unlimited included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pt-limits-'));
    const file = join(dir, 'limits');
    writeFileSync(file, 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 unlimited            files\n');
    assert.deepEqual(openFileLimit(file), { soft: 1024, hard: Infinity });
    assert.equal(openFileLimit(join(dir, 'missing')), null);
    assert.ok((openFileLimit()?.soft ?? 0) > 0, 'this process has one');
  });

  it('warns when --max-held cannot fit, naming the fix; says nothing when it fits', () => {
    assert.match(heldLimitWarning(10_000, { soft: 1024 }) ?? '', /^--max-held 10000 does not fit in this process's limit of 1024 open files: connections past about 960 will be refused by the system \(accept fails with EMFILE\); raise the limit \(ulimit -n 20064/);
    assert.equal(heldLimitWarning(10_000, { soft: 20_000 }), null);
    assert.equal(heldLimitWarning(10_000, null), null);
  });
});
