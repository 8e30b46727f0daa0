import type { Role } from "../schema";

/** The caller of an admin route, as the bearer token says. */
export type Principal = {
  /** Token id, or "bootstrap" for the BOOTSTRAP_TOKEN secret. */
  id: string;
  role: Role;
  /** For `headend` principals: the transport key their exports are wrapped under. */
  transportKeyId: string | null;
};

export type AppEnv = {
  Bindings: Env;
  Variables: { requestId: string; principal: Principal };
};
