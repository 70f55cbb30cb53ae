import { createServer, type Server, type Socket } from 'node:net';
import { untilAborted } from '../../src/core/abortable.js';
import type { Backend } from '../../src/core/backend.js';
import type { CatalogEntry } from '../../src/core/catalog.js';
import { LABEL } from '../../src/core/labels.js';
import { type Clock, systemClock } from '../../src/core/clock.js';
import type { DeclaredDependency } from '../../src/core/dependencies.js';
import type { HealthStatus, Member, MemberPhase, RuntimeChange, SleepMode } from '../../src/core/runtime.js';
import { closeServer, listenLocal } from './net.js';

interface FakeMember {
  readonly id: string;
  readonly name: string;
  readonly groups: readonly string[];
  readonly created: number;
  readonly labels: Readonly<Record<string, string>>;
  phase: MemberPhase;
  health: HealthStatus;
  exitCode: number | null;
  /** Health the member reports right after it starts (`none` without a health check). */
  readonly healthOnStart: HealthStatus;
  readonly startError: Error | null;
  /** A loopback echo server on this port runs while the member is up, as a container's server would. */
  readonly servesPort: number | null;
  readonly dependsOn: readonly DeclaredDependency[];
  /** When woken, it runs this long and exits with `exitCode` (a one-shot job); null runs until stopped. */
  readonly runsFor: { readonly ms: number; readonly exitCode: number } | null;
  server: { readonly server: Server; readonly sockets: Set<Socket> } | null;
}

export interface FakeMemberOptions {
  readonly phase?: MemberPhase;
  readonly healthOnStart?: HealthStatus;
  readonly startError?: Error;
  /** Labels beyond proxytainer.group, for discovery. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Run an echo server on 127.0.0.1:port while up. */
  readonly servesPort?: number;
  /** Members (by name) it waits for before it starts. */
  readonly dependsOn?: readonly DeclaredDependency[];
  /** A one-shot job: once woken it ends by itself after this long, with this exit code. */
  readonly runsFor?: { readonly ms: number; readonly exitCode: number };
}

function detailOf(member: FakeMember): string {
  switch (member.phase) {
    case 'running':
      return `${member.name} is running`;
    case 'starting':
      return `${member.name} is restarting`;
    case 'paused':
      return `${member.name} is paused`;
    case 'stopped':
      return member.exitCode === null ? `${member.name} was never started` : `${member.name} exited (exit code ${member.exitCode})`;
  }
}

/**
 * An in-memory backend, driven like Docker would be: members change only when
 * the group wakes or puts them to sleep, or when the test says so, and every
 * change is announced to subscribers as Docker's events would be. A member
 * may run a real loopback server while it is up. Every call is recorded.
 */
export class FakeRuntime implements Backend {
  readonly endpoint = 'fake://runtime';
  readonly calls: string[] = [];
  private readonly all: FakeMember[] = [];
  private readonly listeners = new Set<(change: RuntimeChange) => void>();
  private readonly membershipListeners = new Set<(reason: string) => void>();
  private created = 0;
  /** Times one-shot jobs; a test with a fake clock passes it. */
  constructor(private readonly clock: Clock = systemClock) {}

  /** When set, wake() waits for this promise before changing state. */
  startGate: Promise<void> | null = null;
  stopGate: Promise<void> | null = null;
  listError: Error | null = null;

  /** Adds a member (asleep unless `phase` says otherwise) to one group or several (`a,b`). */
  add(group: string, name: string, options: FakeMemberOptions = {}): void {
    const phase = options.phase ?? 'stopped';
    const healthOnStart = options.healthOnStart ?? 'none';
    this.all.push({
      id: `${name}-id`,
      name,
      groups: group.split(',').map((g) => g.trim()),
      created: ++this.created,
      labels: { [LABEL.group]: group, ...options.labels },
      phase,
      health: phase === 'running' ? healthOnStart : 'none',
      exitCode: phase === 'running' ? null : 0,
      healthOnStart,
      startError: options.startError ?? null,
      servesPort: options.servesPort ?? null,
      dependsOn: options.dependsOn ?? [],
      runsFor: options.runsFor ?? null,
      server: null,
    });
    this.announceMembership(`create of ${name}`);
  }

  /** Removes a member, as `docker rm -f` would. */
  async remove(name: string): Promise<void> {
    const at = this.all.findIndex((m) => m.name === name);
    const [member] = this.all.splice(at, 1);
    if (member === undefined) throw new Error(`no fake member ${name}`);
    await this.serve(member, false);
    this.announceMembership(`destroy of ${name}`);
    for (const group of member.groups) this.emit({ group, reason: `destroy of ${name}` });
  }

  /** Changes a member as Docker would, and tells subscribers. */
  set(name: string, change: Partial<Pick<FakeMember, 'phase' | 'health' | 'exitCode'>>): void {
    const member = this.find(name);
    Object.assign(member, change);
    for (const group of member.groups) this.emit({ group, reason: `test changed ${name}` });
  }

  emit(change: RuntimeChange): void {
    for (const listener of this.listeners) listener(change);
  }

  follow(): void {
    this.announceMembership('connected');
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((m) => this.serve(m, false)));
  }

  describeGroup(group: string): string {
    return `fake members of ${group}`;
  }

  /** The group's members and, however far, what they depend on; each used by its own groups and its dependents'. */
  async members(group: string): Promise<Member[]> {
    this.calls.push(`members ${group}`);
    await new Promise(setImmediate); // an answer takes I/O, as Docker's does: others may act meanwhile
    if (this.listError !== null) throw this.listError;
    const stack = new Set(this.all.filter((m) => m.groups.includes(group)));
    for (const member of stack) for (const d of member.dependsOn) for (const target of this.all.filter((t) => t.name === d.name)) stack.add(target);
    return [...stack].map((m) => {
      const users = this.all.filter((u) => u.dependsOn.some((d) => d.name === m.name)).flatMap((u) => u.groups);
      return {
        id: m.id,
        name: m.name,
        phase: m.phase,
        health: m.health,
        state: m.phase,
        detail: detailOf(m),
        exitCode: m.phase === 'stopped' ? m.exitCode : null,
        groups: [...new Set([group, ...m.groups, ...users])].sort(),
        dependsOn: m.dependsOn.map((d) => ({ id: this.all.find((t) => t.name === d.name)?.id ?? null, name: d.name, condition: d.condition })),
      };
    });
  }

  async wake(member: Member, signal: AbortSignal): Promise<void> {
    this.calls.push(`start ${member.name}`);
    signal.throwIfAborted(); // like a real request made with an aborted signal
    if (this.startGate !== null) await untilAborted(this.startGate, signal);
    const fake = this.findById(member.id);
    if (fake.startError !== null) throw fake.startError;
    await this.serve(fake, true);
    // An unpaused container keeps the health it had (stale: Docker went on checking while it was frozen).
    if (fake.phase !== 'paused') fake.health = fake.healthOnStart;
    fake.phase = 'running';
    fake.exitCode = null;
    for (const group of fake.groups) this.emit({ group, reason: `start of ${fake.name}` });
    if (fake.runsFor !== null) {
      const { ms, exitCode } = fake.runsFor;
      this.clock.setTimer(ms, () => {
        this.set(fake.name, { phase: 'stopped', exitCode, health: 'none' });
      });
    }
  }

  async sleep(member: Member, options: { readonly mode: SleepMode }, signal: AbortSignal): Promise<void> {
    this.calls.push(`${options.mode} ${member.name}`);
    signal.throwIfAborted();
    if (this.stopGate !== null) await untilAborted(this.stopGate, signal);
    const fake = this.findById(member.id);
    if (options.mode === 'pause') {
      fake.phase = 'paused';
    } else {
      if (fake.phase === 'paused') this.calls.push(`unpause ${member.name}`); // as Docker's adapter thaws before stopping
      await this.serve(fake, false);
      fake.phase = 'stopped';
      fake.health = 'none';
      fake.exitCode = 0;
    }
    for (const group of fake.groups) this.emit({ group, reason: `${options.mode} of ${fake.name}` });
  }

  subscribe(listener: (change: RuntimeChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(): Promise<CatalogEntry[]> {
    this.calls.push('list');
    if (this.listError !== null) return Promise.reject(this.listError);
    return Promise.resolve(this.all.map((m) => ({ id: m.id, name: m.name, created: m.created, labels: m.labels, hostNetwork: false })));
  }

  address(name: string): Promise<string> {
    this.find(name);
    return Promise.resolve('127.0.0.1');
  }

  onMembershipChange(listener: (reason: string) => void): () => void {
    this.membershipListeners.add(listener);
    return () => this.membershipListeners.delete(listener);
  }

  count(call: string): number {
    return this.calls.filter((c) => c === call).length;
  }

  /** Whether the member's server is up now. */
  serving(name: string): boolean {
    return this.find(name).server !== null;
  }

  private announceMembership(reason: string): void {
    for (const listener of this.membershipListeners) listener(reason);
  }

  private async serve(member: FakeMember, up: boolean): Promise<void> {
    if (member.servesPort === null || (member.server !== null) === up) return;
    if (up) {
      const sockets = new Set<Socket>();
      const server = createServer({ allowHalfOpen: true }, (socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
        socket.pipe(socket);
      });
      await listenLocal(server, member.servesPort);
      member.server = { server, sockets };
    } else if (member.server !== null) {
      const { server, sockets } = member.server;
      member.server = null;
      for (const socket of sockets) socket.destroy(); // the container's processes die with it
      await closeServer(server);
    }
  }

  private find(name: string): FakeMember {
    const member = this.all.find((m) => m.name === name);
    if (member === undefined) throw new Error(`no fake member ${name}`);
    return member;
  }

  private findById(id: string): FakeMember {
    const member = this.all.find((m) => m.id === id);
    if (member === undefined) throw new Error(`no fake member ${id}`);
    return member;
  }
}

/** A controllable promise, for gating fake runtime calls. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
