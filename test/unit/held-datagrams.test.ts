import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Fifo } from '../../src/core/fifo.js';
import { DatagramBudget, type HeldDatagram } from '../../src/core/held-datagrams.js';
import { IcmpAllowance } from '../../src/core/icmp-allowance.js';
import { ThrottledReport } from '../../src/core/throttled-report.js';
import { FakeClock } from '../support/fake-clock.js';

interface Flow {
  held: number;
  readonly name: string;
}

const flow = (name: string): Flow => ({ held: 0, name });
const text = (entry: HeldDatagram<Flow> | undefined): string => entry?.data.toString() ?? '-';

describe('held datagrams', () => {
  it("past the count bound, the group's oldest datagram goes, whichever listener holds it", () => {
    const budget = new DatagramBudget(3, 1 << 20);
    const dropped: string[] = [];
    const a = budget.queue<Flow>((entry) => dropped.push(`a:${text(entry)}`));
    const b = budget.queue<Flow>((entry) => dropped.push(`b:${text(entry)}`));
    const [x, y] = [flow('x'), flow('y')];
    a.add(x, Buffer.from('1'), 0);
    b.add(y, Buffer.from('2'), 0);
    a.add(x, Buffer.from('3'), 0);
    b.add(y, Buffer.from('4'), 0);
    b.add(y, Buffer.from('5'), 0);
    assert.deepEqual(dropped, ['a:1', 'b:2']);
    assert.deepEqual([...a].map(text), ['3']);
    assert.deepEqual([...b].map(text), ['4', '5']);
    assert.deepEqual([budget.count, x.held, y.held], [3, 1, 2]);
  });

  it('past the byte bound, the oldest go until the rest fit', () => {
    const budget = new DatagramBudget(1000, 10);
    const dropped: string[] = [];
    const q = budget.queue<Flow>((entry) => dropped.push(text(entry)));
    const f = flow('f');
    q.add(f, Buffer.from('aaaa'), 0);
    q.add(f, Buffer.from('bbbb'), 0);
    q.add(f, Buffer.from('cccccc'), 0);
    assert.deepEqual(dropped, ['aaaa']);
    assert.deepEqual([budget.count, budget.bytes, f.held], [2, 10, 2]);
  });

  it('what is sent or dropped on purpose leaves the budget, and the flows count what they still have held', () => {
    const budget = new DatagramBudget(10, 100);
    const q = budget.queue<Flow>(() => assert.fail('nothing is over the bound'));
    const [x, y] = [flow('x'), flow('y')];
    for (const [f, d] of [[x, 'x1'], [y, 'y1'], [x, 'x2'], [y, 'y2']] as const) q.add(f, Buffer.from(d), 0);
    assert.equal(text(q.shift()), 'x1');
    assert.deepEqual(q.dropWhere((entry) => entry.flow === y).map(text), ['y1', 'y2']);
    assert.deepEqual([budget.count, budget.bytes, x.held, y.held], [1, 2, 1, 0]);
    q.close();
    assert.deepEqual([budget.count, budget.bytes, x.held], [0, 0, 0]);
  });
});

describe('Fifo', () => {
  it('keeps order through a hundred thousand pushes and shifts, compacting as it goes', () => {
    const fifo = new Fifo<number>();
    let next = 0;
    for (let i = 0; i < 100_000; i++) {
      fifo.push(i);
      if (i % 3 !== 0) assert.equal(fifo.shift(), next++);
    }
    assert.equal(fifo.length, 100_000 - next);
    assert.equal(fifo.peek(), next);
    const before = fifo.length;
    const evens = [...fifo].filter((n) => n % 2 === 0);
    assert.equal(fifo.retain((n) => n % 2 === 0), before - evens.length);
    assert.deepEqual([...fifo], evens);
  });
});

describe('IcmpAllowance', () => {
  it('allows a burst of 6 refusals from a host, then one a second, as Linux sends them', async () => {
    const clock = new FakeClock();
    const icmp = new IcmpAllowance(clock);
    for (let i = 0; i < 6; i++) {
      assert.equal(icmp.waitMs('172.18.0.2'), 0, `refusal ${i + 1}`);
      icmp.spend('172.18.0.2');
    }
    assert.equal(icmp.waitMs('172.18.0.2'), 1000);
    assert.equal(icmp.waitMs('172.18.0.3'), 0, 'another host has its own bucket');
    await clock.advance(400);
    assert.equal(icmp.waitMs('172.18.0.2'), 600);
    await clock.advance(600);
    assert.equal(icmp.waitMs('172.18.0.2'), 0);
  });

  it('never makes loopback wait: Linux does not limit ICMP there', () => {
    const icmp = new IcmpAllowance(new FakeClock());
    for (const host of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      for (let i = 0; i < 20; i++) icmp.spend(host);
      assert.equal(icmp.waitMs(host), 0, host);
    }
  });
});

describe('ThrottledReport', () => {
  it('reports the first at once, then sums the rest once per interval, leaving none unreported', async () => {
    const clock = new FakeClock();
    const reports: number[] = [];
    const report = new ThrottledReport(clock, 5000, (count) => reports.push(count));
    report.add();
    report.add(3);
    await clock.advance(4999);
    assert.deepEqual(reports, [1]);
    await clock.advance(1);
    assert.deepEqual(reports, [1, 3]);
    await clock.advance(10_000);
    report.add();
    assert.deepEqual(reports, [1, 3, 1]);
    report.add(2);
    report.close();
    assert.deepEqual(reports, [1, 3, 1, 2]);
  });
});
