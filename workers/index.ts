import { database } from "../functions/db";
import { custodyFor } from "../functions/custody";
import { runScheduled } from "../functions/scheduler";
import { app } from "./app";

export { Concentrator } from "./concentrator";
export { CoverGraph } from "../functions/cover-graph";
export { KeyGraph } from "../functions/key-graph";

export default {
  fetch: app.fetch,

  /** Cron (DESIGN.md §5): applies the refresh policies, one bounded step at a time. */
  async scheduled(controller, env) {
    const report = await runScheduled(database(env.DB), env, await custodyFor(env), controller.scheduledTime, `cron-${controller.scheduledTime}-${crypto.randomUUID().slice(0, 8)}`);
    console.log("scheduled run", JSON.stringify(report));
  },
} satisfies ExportedHandler<Env>;
