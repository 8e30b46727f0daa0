import { ROLES_EXTENSION } from "../functions/api/http";

/**
 * The browsable API reference, rendered on the server from the OpenAPI document itself:
 * plain HTML and inline CSS, no script and nothing fetched from elsewhere, so it works on a
 * utility's locked-down network. Every string from the document is escaped.
 */

type Schema = Record<string, unknown>;
type Media = Record<string, { schema?: Schema }>;
type Parameter = { name: string; in: string; required?: boolean; description?: string; schema?: Schema };
type Operation = {
  summary?: string;
  description?: string;
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Media };
  responses?: Record<string, { description?: string; content?: Media }>;
  [ROLES_EXTENSION]?: string[];
};
export type OpenApiDocument = {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export function operationAnchor(method: string, path: string): string {
  return `op-${method}-${path.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "")}`;
}

const SECTIONS = ["Operator API (Authorization: Bearer <token>)", "Meters and gateways (the edge, no token)", "Service"] as const;

/** The section a path belongs to: the operator API, the meters' edge, or the service itself. */
function sectionOf(path: string): string {
  if (path.startsWith("/v1/admin/")) return SECTIONS[0];
  if (path.startsWith("/v1/edge/") || path.startsWith("/.well-known/")) return SECTIONS[1];
  return SECTIONS[2];
}

type Entry = { method: string; path: string; op: Operation };

export function operationsOf(doc: OpenApiDocument): Entry[] {
  const entries: Entry[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) if (item[method]) entries.push({ method, path, op: item[method]! });
  }
  return entries.sort((a, b) => a.path.localeCompare(b.path) || METHODS.indexOf(a.method as never) - METHODS.indexOf(b.method as never));
}

/** A schema as indented JSON, with each component reference a link to that component. */
function schemaBlock(schema: Schema | undefined): string {
  if (!schema) return "";
  const json = escapeHtml(JSON.stringify(schema, null, 2));
  const linked = json.replace(/&#34;#\/components\/schemas\/([A-Za-z0-9_.-]+)&#34;/g, (_m, name: string) => `<a href="#schema-${name}">${name}</a>`);
  return `<pre>${linked}</pre>`;
}

function mediaBlocks(content: Media | undefined): string {
  return Object.entries(content ?? {})
    .map(([type, media]) => `<div class="media"><code>${escapeHtml(type)}</code>${schemaBlock(media.schema)}</div>`)
    .join("");
}

function whoMayCall(op: Operation): string {
  const roles = op[ROLES_EXTENSION];
  if (roles?.length) return `roles: ${roles.map((r) => `<code>${escapeHtml(r)}</code>`).join(", ")}`;
  if (Array.isArray(op.security) && op.security.length === 0) return "public: no token";
  return "any valid token";
}

function parametersTable(params: Parameter[] | undefined): string {
  if (!params?.length) return "";
  const rows = params.map(
    (p) =>
      `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${escapeHtml(p.in)}</td><td>${p.required ? "yes" : "no"}</td><td>${escapeHtml(p.description ?? "")}</td><td>${schemaBlock(p.schema)}</td></tr>`,
  );
  return `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>what</th><th>schema</th></tr>${rows.join("")}</table>`;
}

function responsesTable(responses: Operation["responses"]): string {
  const rows = Object.entries(responses ?? {}).map(
    ([status, r]) => `<tr><td class="status s${escapeHtml(status[0] ?? "")}">${escapeHtml(status)}</td><td>${escapeHtml(r.description ?? "")}${mediaBlocks(r.content)}</td></tr>`,
  );
  return `<h4>Responses</h4><table><tr><th>status</th><th>what</th></tr>${rows.join("")}</table>`;
}

function operationSection({ method, path, op }: Entry): string {
  const body = op.requestBody ? `<h4>Request body${op.requestBody.required ? "" : " (optional)"}</h4>${mediaBlocks(op.requestBody.content)}` : "";
  return `<section class="op" id="${operationAnchor(method, path)}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>
<p>${escapeHtml(op.summary ?? "")}</p>${op.description ? `<p>${escapeHtml(op.description)}</p>` : ""}
<p class="who">${whoMayCall(op)}</p>
${parametersTable(op.parameters)}${body}${responsesTable(op.responses)}
</section>`;
}

function errorCodesTable(codes: Record<string, number>): string {
  const rows = Object.entries(codes).map(([code, status]) => `<tr><td><code>${escapeHtml(code)}</code></td><td>${status}</td></tr>`);
  return `<h2 id="errors">Error codes</h2>
<p>Every refusal is <code>{"error": {"code", "message", "details"?}}</code> with one of these stable codes; docs/api.md and docs/protocol.md §6 say when each is given.</p>
<table><tr><th>code</th><th>HTTP</th></tr>${rows.join("")}</table>`;
}

const STYLE = `body{font:15px/1.45 system-ui,sans-serif;max-width:72rem;margin:0 auto;padding:1rem 2rem;color:#1b1b1b}
code,pre{font:13px ui-monospace,monospace}pre{background:#f5f5f4;padding:.5rem;overflow-x:auto;margin:.3rem 0}
table{border-collapse:collapse;width:100%;margin:.3rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
.op{border-top:2px solid #ccc;margin-top:1.5rem}.method{font-weight:700;padding:0 .4rem;border-radius:3px;color:#fff;background:#555}
.get{background:#1f6feb}.post{background:#1a7f37}.put{background:#9a6700}.delete{background:#cf222e}.who{color:#555}
.s4,.s5{color:#cf222e}.s2{color:#1a7f37}.media{margin:.3rem 0}nav li{margin:.1rem 0}`;

/** The whole page. `errorCodes` is the code → HTTP status table of functions/errors.ts. */
export function renderReference(doc: OpenApiDocument, errorCodes: Record<string, number>): string {
  const entries = operationsOf(doc);
  const sections = new Map<string, Entry[]>(SECTIONS.map((t) => [t, []]));
  for (const e of entries) sections.set(sectionOf(e.path), [...(sections.get(sectionOf(e.path)) ?? []), e]);
  for (const [title, es] of sections) if (es.length === 0) sections.delete(title);
  const nav = [...sections]
    .map(([title, es]) => `<li>${escapeHtml(title)}<ul>${es.map((e) => `<li><a href="#${operationAnchor(e.method, e.path)}">${e.method.toUpperCase()} ${escapeHtml(e.path)}</a></li>`).join("")}</ul></li>`)
    .join("");
  const body = [...sections].map(([title, es]) => `<h2>${escapeHtml(title)}</h2>${es.map(operationSection).join("\n")}`).join("\n");
  const schemas = Object.entries(doc.components?.schemas ?? {})
    .map(([name, schema]) => `<section id="schema-${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3>${schemaBlock(schema)}</section>`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.info.title)} ${escapeHtml(doc.info.version)}: API reference</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(doc.info.title)} ${escapeHtml(doc.info.version)}: API reference</h1>
<p>${escapeHtml(doc.info.description ?? "")}. Rendered from the OpenAPI ${escapeHtml(doc.openapi)} document at <a href="/v1/openapi.json">/v1/openapi.json</a>: ${entries.length} operations.</p>
<nav><ul>${nav}<li><a href="#schemas">Schemas</a></li><li><a href="#errors">Error codes</a></li></ul></nav>
${body}
<h2 id="schemas">Schemas</h2>
${schemas}
${errorCodesTable(errorCodes)}
</body></html>`;
}
