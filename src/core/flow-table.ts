import type { UdpFlow } from './udp-flow.js';

/** One UDP listener's flows, by client address and then port: a lookup per datagram without building a key. */
export class FlowTable {
  private readonly byAddress = new Map<string, Map<number, UdpFlow>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(address: string, port: number): UdpFlow | undefined {
    return this.byAddress.get(address)?.get(port);
  }

  add(flow: UdpFlow): void {
    let ports = this.byAddress.get(flow.address);
    if (ports === undefined) {
      ports = new Map();
      this.byAddress.set(flow.address, ports);
    }
    if (!ports.has(flow.port)) this.count++;
    ports.set(flow.port, flow);
  }

  /** Removes `flow`; false when it was not there (already removed, or another flow took its place). */
  delete(flow: UdpFlow): boolean {
    const ports = this.byAddress.get(flow.address);
    if (ports?.get(flow.port) !== flow) return false;
    ports.delete(flow.port);
    if (ports.size === 0) this.byAddress.delete(flow.address);
    this.count--;
    return true;
  }

  /** Every flow, as a list taken now: flows may be removed while it is walked. */
  all(): UdpFlow[] {
    return [...this.byAddress.values()].flatMap((ports) => [...ports.values()]);
  }
}
