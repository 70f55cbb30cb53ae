import { whenAborted } from '../core/abortable.js';
import { describeError } from '../core/errors.js';
import type { Group } from '../core/group.js';
import { protocolOf, type Proxy } from '../core/proxy.js';
import { Listener } from '../core/listener.js';
import type { WakeHistory } from '../core/wake-history.js';
import { WAKE_COMMAND_NO_WAIT_REASON, WAKE_COMMAND_REASON } from '../core/wake-cause.js';
import type { LabelProblem } from '../discovery/labels.js';
import { type ControlApi, type SleepResult, UnknownGroupError, type WakeProgress, type WakeResult } from './control-api.js';
import { groupStatusFromSnapshot, type ListenerStatus, type ProxyInfo, type RoutingStatus, type StatusDocument } from './status-document.js';

/** A TCP port as each of its groups shows it; with routing, when the port reads first bytes to choose. */
function tcpEntries(listener: Listener): [string, ListenerStatus][] {
  const routes = listener.routes();
  const counts = listener.routingCounts();
  return routes.map((route) => {
    const entry: ListenerStatus = { port: listener.port, protocol: 'tcp', bind: listener.spec.bind ?? null, upstream: route.upstreamDescription, problem: route.upstreamProblem };
    if (counts === null) return [route.group.name, entry];
    const routing: RoutingStatus = { hostnames: route.hostnames, fallback: route.fallback, groups: routes.map((r) => r.group.name), minecraft: route.minecraft, counts };
    return [route.group.name, { ...entry, routing }];
  });
}

/** The control API of a running proxy, over its groups and listeners. */
export class ProxyControl implements ControlApi {
  constructor(
    private readonly proxy: Proxy,
    private readonly info: ProxyInfo,
    private readonly problems: () => readonly LabelProblem[],
    /** Who woke each group and when it last slept; without it status leaves those fields null. */
    private readonly history: WakeHistory | null = null,
  ) {}

  status(): StatusDocument {
    const now = new Date();
    const problems = this.problems();
    const listeners = new Map<string, ListenerStatus[]>();
    /** Per group: UDP bytes, added to the group's, and the UDP listeners' own waits, which are not held connections. */
    const udp = new Map<string, { bytesIn: number; bytesOut: number; holding: number }>();
    for (const listener of this.proxy.allListeners()) {
      if (listener instanceof Listener) {
        for (const [name, entry] of tcpEntries(listener)) listeners.set(name, [...(listeners.get(name) ?? []), entry]);
        continue;
      }
      const name = listener.group.name;
      const entry: ListenerStatus = { port: listener.port, protocol: protocolOf(listener), bind: listener.spec.bind ?? null, upstream: listener.upstreamDescription };
      const c = listener.counters();
      const sums = udp.get(name) ?? { bytesIn: 0, bytesOut: 0, holding: 0 };
      udp.set(name, { bytesIn: sums.bytesIn + c.bytesIn, bytesOut: sums.bytesOut + c.bytesOut, holding: sums.holding + (listener.holding ? 1 : 0) });
      const counts = { flows: c.flows, held: c.held, dropped: c.dropped, datagrams: { in: c.datagramsIn, out: c.datagramsOut }, bytes: { in: c.bytesIn, out: c.bytesOut } };
      listeners.set(name, [...(listeners.get(name) ?? []), { ...entry, udp: counts }]);
    }
    const groups = this.proxy
      .allGroups()
      .map((group) => {
        const snapshot = group.snapshot();
        const sums = udp.get(group.name);
        const withUdp =
          sums === undefined
            ? snapshot
            : { ...snapshot, bytesIn: snapshot.bytesIn + sums.bytesIn, bytesOut: snapshot.bytesOut + sums.bytesOut, held: Math.max(0, snapshot.held - sums.holding) };
        return groupStatusFromSnapshot(withUdp, this.info.pid, listeners.get(group.name) ?? [], problems, now, this.history?.snapshot(group) ?? null);
      })
      .sort((a, b) => a.name.localeCompare(b.name));
    return { schemaVersion: 1, proxies: [this.info], groups, problems, notes: [], docker: null };
  }

  async wake(name: string, options: { readonly wait: boolean }, onProgress: (progress: WakeProgress) => void, signal: AbortSignal): Promise<WakeResult> {
    const group = this.find(name);
    group.touch();
    if (!options.wait) {
      group.hold(WAKE_COMMAND_NO_WAIT_REASON, { force: true }).promise.catch(() => undefined);
      return { ok: true, state: group.state };
    }
    const off = group.onTransition(({ to, detail }) => {
      onProgress({ state: to, detail });
    });
    const held = group.hold(WAKE_COMMAND_REASON, { force: true }); // an operator goes past a backoff
    // The caller going away stops its wait, not the wake.
    const stopWatching = whenAborted(signal, (reason) => {
      held.cancel(reason);
    });
    try {
      await held.promise;
      return { ok: true, state: group.state };
    } catch (error) {
      return { ok: false, reason: describeError(error) };
    } finally {
      stopWatching();
      off();
    }
  }

  async sleep(name: string): Promise<SleepResult> {
    const error = await this.find(name).sleep('sleep requested (proxytainer sleep)');
    return error === null ? { ok: true } : { ok: false, reason: error };
  }

  private find(name: string): Group {
    const group = this.proxy.findGroup(name);
    if (group === undefined) throw new UnknownGroupError(name, this.proxy.allGroups().map((g) => g.name));
    return group;
  }
}
