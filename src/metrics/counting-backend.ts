import type { Backend } from '../core/backend.js';

/**
 * The backend with every call to the engine counted by operation, for
 * `proxytainer_docker_requests_total`. A decorator built in the composition
 * root, so the Docker adapter knows nothing of metrics. The events stream is
 * not counted: it is one long request, reopened only after a break.
 */
export function countingBackend(backend: Backend, count: (operation: string) => void): Backend {
  return {
    get endpoint() {
      return backend.endpoint;
    },
    describeGroup: (group) => backend.describeGroup(group),
    members: (group, signal) => {
      count('members');
      return backend.members(group, signal);
    },
    wake: (member, signal) => {
      count('wake');
      return backend.wake(member, signal);
    },
    sleep: (member, options, signal) => {
      count('sleep');
      return backend.sleep(member, options, signal);
    },
    subscribe: (listener) => backend.subscribe(listener),
    list: (signal) => {
      count('list');
      return backend.list(signal);
    },
    address: (name, signal) => {
      count('address');
      return backend.address(name, signal);
    },
    onMembershipChange: (listener) => backend.onMembershipChange(listener),
    follow: () => {
      backend.follow();
    },
    close: () => backend.close(),
  };
}
