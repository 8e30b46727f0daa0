// The dashboard's own routes serve only static files, each with the same protective headers;
// its data comes from the admin API (test/api/dashboard-data.test.ts, test/e2e/dashboard.e2e.test.ts).
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const get = (path: string) => exports.default.fetch(`http://gridkey.test${path}`);

describe("/dashboard", () => {
  it("serves the shell, script, stylesheet and icon with a strict CSP and no caching", async () => {
    for (const [path, type] of [
      ["/dashboard", "text/html; charset=utf-8"],
      ["/dashboard/app.js", "text/javascript; charset=utf-8"],
      ["/dashboard/app.css", "text/css; charset=utf-8"],
      ["/dashboard/favicon.svg", "image/svg+xml"],
    ] as const) {
      const res = await get(path);
      expect([path, res.status, res.headers.get("content-type")]).toEqual([path, 200, type]);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe");
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("holds no inline script or handler, and keeps the token out of URLs and persistent storage", async () => {
    const html = await (await get("/dashboard")).text();
    expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script src="/dashboard/app.js" defer>']);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    const js = await (await get("/dashboard/app.js")).text();
    expect(js).toContain("sessionStorage");
    expect(js).not.toMatch(/localStorage|document\.cookie|innerHTML|outerHTML|insertAdjacentHTML|eval\(|new Function/);
    expect(js).not.toMatch(/[?&]token=|location\.(hash|search)/);
  });

  it("answers unknown dashboard paths with the API's JSON 404", async () => {
    const res = await get("/dashboard/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: "no such route" } });
  });
});
