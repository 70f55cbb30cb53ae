import type { HealthStatus, Member, Runtime, RuntimeChange } from '../../src/core/runtime.js';

interface FakeMember {
  id: string;
  name: string;
  state: string;
  health: HealthStatus;
  exitCode: number | null;
  /** Health the member reports right after it starts (`none` without a healthcheck). */
  healthOnStart: HealthStatus;
  startError: Error | null;
}

/**
 * An in-memory runtime for unit tests: members change only when the group
 * starts or stops them, or when the test says so. Every call is recorded.
 */
export class FakeRuntime implements Runtime {
  readonly endpoint = 'fake://runtime';
  readonly calls: string[] = [];
  private readonly groups = new Map<string, FakeMember[]>();
  private readonly listeners = new Set<(change: RuntimeChange) => void>();
  /** When set, start() waits for this promise before changing state. */
  startGate: Promise<void> | null = null;
  stopGate: Promise<void> | null = null;
  listError: Error | null = null;

  add(group: string, name: string, options: Partial<Pick<FakeMember, 'state' | 'healthOnStart' | 'startError'>> = {}): void {
    const members = this.groups.get(group) ?? [];
    const running = options.state === 'running';
    const healthOnStart = options.healthOnStart ?? 'none';
    members.push({
      id: `${name}-id`,
      name,
      state: options.state ?? 'exited',
      health: running ? healthOnStart : 'none',
      exitCode: running ? null : 0,
      healthOnStart,
      startError: options.startError ?? null,
    });
    this.groups.set(group, members);
  }

  /** Changes a member as Docker would, and tells subscribers. */
  set(group: string, name: string, change: Partial<Pick<FakeMember, 'state' | 'health' | 'exitCode'>>): void {
    const member = this.find(group, name);
    Object.assign(member, change);
    this.emit({ group, reason: `test changed ${name}` });
  }

  emit(change: RuntimeChange): void {
    for (const listener of this.listeners) listener(change);
  }

  describeGroup(group: string): string {
    return `fake members of ${group}`;
  }

  members(group: string): Promise<Member[]> {
    this.calls.push(`members ${group}`);
    if (this.listError !== null) return Promise.reject(this.listError);
    return Promise.resolve(
      (this.groups.get(group) ?? []).map((m) => ({ id: m.id, name: m.name, state: m.state, health: m.health, exitCode: m.exitCode, labels: {} })),
    );
  }

  async start(member: Member, signal: AbortSignal): Promise<void> {
    this.calls.push(`start ${member.name}`);
    if (this.startGate !== null) await untilAborted(this.startGate, signal);
    const fake = this.findById(member.id);
    if (fake.startError !== null) throw fake.startError;
    fake.state = 'running';
    fake.health = fake.healthOnStart;
    fake.exitCode = null;
  }

  async stop(member: Member, _options: unknown, signal: AbortSignal): Promise<void> {
    this.calls.push(`stop ${member.name}`);
    if (this.stopGate !== null) await untilAborted(this.stopGate, signal);
    const fake = this.findById(member.id);
    fake.state = 'exited';
    fake.health = 'none';
    fake.exitCode = 0;
  }

  subscribe(listener: (change: RuntimeChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  count(call: string): number {
    return this.calls.filter((c) => c === call).length;
  }

  private find(group: string, name: string): FakeMember {
    const member = this.groups.get(group)?.find((m) => m.name === name);
    if (member === undefined) throw new Error(`no fake member ${name} in ${group}`);
    return member;
  }

  private findById(id: string): FakeMember {
    for (const members of this.groups.values()) {
      const member = members.find((m) => m.id === id);
      if (member !== undefined) return member;
    }
    throw new Error(`no fake member ${id}`);
  }
}

/** Like a real runtime call, a gated call gives up when its signal aborts. */
function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    signal.addEventListener(
      'abort',
      () => {
        reject(signal.reason as Error);
      },
      { once: true },
    );
    void promise.then(resolve);
  });
}

/** A controllable promise, for gating fake runtime calls. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
