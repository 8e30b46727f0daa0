import { database } from "../functions/db";
import { custodyFor } from "../functions/custody";
import { rewrapChunk } from "../functions/master-key-rotation";
import { app } from "./app";

export { Concentrator } from "./concentrator";
export { KeyGraph } from "../functions/key-graph";

export default {
  fetch: app.fetch,

  /** Cron: advances a master-key rotation by one bounded chunk (later: policy rekeying). */
  async scheduled(controller, env) {
    const ctx = { actor: { id: "cron", role: "system" }, requestId: `cron-${controller.scheduledTime}` };
    await rewrapChunk(database(env.DB), await custodyFor(env), ctx);
  },
} satisfies ExportedHandler<Env>;
