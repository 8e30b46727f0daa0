import { createRoute, z } from "@hono/zod-openapi";
import { KEYINGS, REKEY_MODES } from "../../schema";
import { fromHex, toHex } from "../crypto";
import { changeMembers, createProgram, sealProgramCommand, deleteProgram, getProgram, listPrograms, MAX_MEMBERSHIP_CHANGES, programEpochs, programStatus, programView, rekeyNow } from "../programs";
import { GridkeyError } from "../errors";
import { dbOf, services } from "./context";
import { commonErrors, conflict, hexBytes, MeterId, Name, newApp, notFound, requireRole, Timestamp } from "./http";
import { EPOCHS_KEPT } from "../graph-object";
import { iso } from "../time";

const Program = z
  .object({
    id: z.string(),
    name: z.string(),
    degree: z.number().int(),
    keying: z.enum(KEYINGS).describe("tree: a key tree of its own; cover: the program key wrapped under a cover of its members' region trees"),
    rekeyMode: z.enum(REKEY_MODES),
    createdAt: z.string(),
    members: z.number().int(),
    epoch: z.number().int(),
    height: z.number().int(),
    pending: z.number().int().describe("membership changes waiting for the next flush"),
  })
  .openapi("Program");

const Epoch = z
  .object({ epoch: z.number().int(), joined: z.number().int(), left: z.number().int(), wraps: z.number().int(), forwards: z.number().int(), bundleBytes: z.number().int() })
  .openapi("RekeyEpoch");

const IdParam = z.object({ id: z.string().max(64) });
const WRITERS = ["admin", "operator"] as const;
const READERS = ["admin", "operator", "auditor"] as const;

export const programRoutes = newApp()
  .openapi(
    createRoute({
      method: "post",
      path: "/programs",
      summary: "Create a DR program: a key graph whose root is the program's group key",
      middleware: [requireRole(...WRITERS)] as const,
      request: {
        body: {
          content: {
            "application/json": {
              schema: z
                .object({
                  name: Name,
                  degree: z.number().int().min(2).max(16).default(4).describe("the tree's degree (tree keying only; a cover uses the region trees')"),
                  rekeyMode: z.enum(REKEY_MODES).default("immediate"),
                  keying: z.enum(KEYINGS).default("tree"),
                })
                .strict()
                .openapi("CreateProgram"),
            },
          },
          required: true,
        },
      },
      responses: { 201: { content: { "application/json": { schema: Program } }, description: "Created" }, ...commonErrors },
    }),
    async (c) => {
      const { db, audit } = await services(c);
      const { row, status } = await createProgram(db, c.env, audit, c.req.valid("json"));
      return c.json(programView(row, status), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/programs",
      summary: "List DR programs",
      middleware: [requireRole(...READERS)] as const,
      responses: { 200: { content: { "application/json": { schema: z.object({ programs: z.array(Program) }) } }, description: "Programs" }, ...commonErrors },
    }),
    async (c) => {
      const rows = await listPrograms(dbOf(c));
      return c.json({ programs: await Promise.all(rows.map(async (r) => programView(r, await programStatus(c.env, r)))) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/programs/{id}",
      summary: "One DR program: members, epoch, tree height",
      middleware: [requireRole(...READERS)] as const,
      request: { params: IdParam },
      responses: { 200: { content: { "application/json": { schema: Program } }, description: "The program" }, ...commonErrors, ...notFound },
    }),
    async (c) => {
      const row = await getProgram(dbOf(c), c.req.valid("param").id);
      return c.json(programView(row, await programStatus(c.env, row)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/programs/{id}/epochs",
      summary: "The rekey timeline: the latest epochs, oldest first, with time, wraps and bundle size",
      middleware: [requireRole(...READERS)] as const,
      request: { params: IdParam, query: z.object({ limit: z.coerce.number().int().min(1).max(EPOCHS_KEPT).default(100) }) },
      responses: {
        200: { content: { "application/json": { schema: z.object({ epochs: z.array(Epoch.extend({ at: Timestamp }).openapi("RekeyEpochRecord")) }) } }, description: "Epochs" },
        ...commonErrors,
        ...notFound,
      },
    }),
    async (c) => {
      const epochs = await programEpochs(dbOf(c), c.env, c.req.valid("param").id, c.req.valid("query").limit);
      return c.json({ epochs: epochs.map((e) => ({ ...e, at: iso(e.at) })) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/programs/{id}",
      summary: "Delete a DR program and destroy its keys",
      middleware: [requireRole(...WRITERS)] as const,
      request: { params: IdParam },
      responses: { 200: { content: { "application/json": { schema: z.object({ deleted: z.string() }) } }, description: "Deleted" }, ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { db, audit } = await services(c);
      const { id } = c.req.valid("param");
      await deleteProgram(db, c.env, audit, id);
      return c.json({ deleted: id }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/programs/{id}/members",
      summary: `Add and remove members (up to ${MAX_MEMBERSHIP_CHANGES} per call); rekeys at once or at the next flush`,
      middleware: [requireRole(...WRITERS)] as const,
      request: {
        params: IdParam,
        body: {
          content: {
            "application/json": {
              schema: z
                .object({ add: z.array(MeterId).max(MAX_MEMBERSHIP_CHANGES).default([]), remove: z.array(MeterId).max(MAX_MEMBERSHIP_CHANGES).default([]) })
                .strict()
                .openapi("MembershipChange"),
            },
          },
          required: true,
        },
      },
      responses: {
        200: { content: { "application/json": { schema: z.object({ program: Program, epoch: Epoch.nullable() }) } }, description: "Applied or queued" },
        ...commonErrors,
        ...notFound,
      },
    }),
    async (c) => {
      const { db, audit } = await services(c);
      const { id } = c.req.valid("param");
      const result = await changeMembers(db, c.env, audit, id, c.req.valid("json"));
      return c.json({ program: programView(await getProgram(db, id), result.status), epoch: result.epoch ?? null }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/programs/{id}/rekey",
      summary: "Rekey now: apply the queued membership changes as one bundle",
      middleware: [requireRole(...WRITERS)] as const,
      request: { params: IdParam },
      responses: { 200: { content: { "application/json": { schema: z.object({ program: Program, epoch: Epoch.nullable() }) } }, description: "Flushed" }, ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { db, audit } = await services(c);
      const { id } = c.req.valid("param");
      const result = await rekeyNow(db, c.env, audit, id);
      return c.json({ program: programView(await getProgram(db, id), result.status), epoch: result.epoch }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/programs/{id}/commands",
      summary: "Seal a DR command (an xDLMS APDU) under the program's group key, for multicast",
      middleware: [requireRole(...WRITERS)] as const,
      request: {
        params: IdParam,
        body: { content: { "application/json": { schema: z.object({ command: hexBytes([]).describe("the xDLMS APDU to protect, hex") }).strict() } }, required: true },
      },
      responses: {
        200: {
          content: {
            "application/json": {
              schema: z
                .object({
                  signed: z.string().describe("what meters accept: the sealed APDU under central's signature (COSE_Sign1 over [\"gridkey/command/v1\", program, apdu]), hex"),
                  apdu: z.string().describe("the general-glo-ciphering APDU alone, hex (meters refuse it unsigned)"),
                  epoch: z.number().int(),
                  invocationCounter: z.number().int(),
                })
                .openapi("SealedCommand"),
            },
          },
          description: "A command every member can open and no one but central can have made",
        },
        ...commonErrors,
        ...notFound,
        ...conflict,
      },
    }),
    async (c) => {
      const { db, audit } = await services(c);
      const { id } = c.req.valid("param");
      const { command } = c.req.valid("json");
      if (command.length === 0 || command.length > 2048) throw new GridkeyError("bad_parameter", "a command is 1 to 1024 bytes");
      const sealed = await sealProgramCommand(db, c.env, audit, id, fromHex(command));
      return c.json({ signed: toHex(sealed.signed), apdu: toHex(sealed.apdu), epoch: sealed.epoch, invocationCounter: sealed.invocationCounter }, 200);
    },
  );
