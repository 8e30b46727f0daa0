export * from "./audit-log";
export * from "./keys";
export * from "./meters";
export * from "./operator-tokens";
export * from "./transport-keys";
export * from "./readings";
export * from "./programs";
export * from "./policies";
