import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../support/paths.js';

/** The README's yaml blocks that start with `# FILE`, by file name. */
function readmeFiles(): Map<string, string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  return new Map([...readme.matchAll(/```yaml\n# (\S+\.yml)\n([\s\S]*?)```/g)].map((match) => [match[1] ?? '', match[2] ?? '']));
}

describe("the README's Prometheus examples", () => {
  it('the scrape config and the alert rules pass promtool check config', (t) => {
    const files = readmeFiles();
    assert.deepEqual([...files.keys()].sort(), ['prometheus.yml', 'proxytainer-rules.yml']);
    const dir = mkdtempSync(join(tmpdir(), 'pt-prometheus-'));
    for (const [name, text] of files) writeFileSync(join(dir, name), text);
    const run = spawnSync('promtool', ['check', 'config', 'prometheus.yml'], { cwd: dir, encoding: 'utf8' });
    if (run.error !== undefined) {
      if ((process.env['CI'] ?? '') !== '' && process.env['CI'] !== 'false') assert.fail('promtool is not installed; scripts/promtool.sh (run by scripts/engine.sh) installs it');
      t.skip('promtool is not installed (bash scripts/promtool.sh)');
      return;
    }
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /SUCCESS: 2 rules found/);
  });
});
