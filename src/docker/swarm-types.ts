/**
 * The parts of the Swarm API's answers that proxytainer reads (GET /services,
 * /tasks, /nodes), typed here because @types/dockerode leaves tasks and nodes
 * untyped and spells the health check field differently from the engine.
 */

export interface SwarmServiceSpec {
  readonly Name: string;
  readonly Labels?: Readonly<Record<string, string>>;
  readonly Mode?: {
    readonly Replicated?: { readonly Replicas?: number };
    readonly Global?: object;
    readonly ReplicatedJob?: object;
    readonly GlobalJob?: object;
  };
  readonly TaskTemplate?: {
    readonly ContainerSpec?: {
      readonly Image?: string;
      readonly Healthcheck?: { readonly Test?: readonly string[] };
      readonly StopGracePeriod?: number;
    };
    readonly Networks?: readonly { readonly Target?: string }[];
  };
  /** Deprecated in the API, still honoured by the engine: networks given at the service level. */
  readonly Networks?: readonly { readonly Target?: string }[];
}

export interface SwarmService {
  readonly ID: string;
  readonly Version: { readonly Index: number };
  readonly CreatedAt: string;
  readonly UpdatedAt: string;
  readonly Spec: SwarmServiceSpec;
}

export interface SwarmTask {
  readonly ID: string;
  readonly ServiceID: string;
  readonly NodeID?: string;
  readonly CreatedAt: string;
  /** What Swarm wants the task to be: `running`, `ready` (a replacement waiting for its restart delay), `shutdown`, `remove`. */
  readonly DesiredState: string;
  readonly Status: {
    readonly Timestamp?: string;
    /** `new`, `pending`, `assigned`, `accepted`, `preparing`, `ready`, `starting`, `running`, `complete`, `shutdown`, `failed`, `rejected`, `remove`, `orphaned`. */
    readonly State: string;
    readonly Message?: string;
    readonly Err?: string;
    readonly ContainerStatus?: { readonly ExitCode?: number };
  };
}

export interface SwarmNode {
  readonly ID: string;
  readonly Description?: { readonly Hostname?: string };
  readonly Status?: { readonly Addr?: string };
}
