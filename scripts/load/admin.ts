/** The operator API as the load scenario uses it: JSON in, JSON out, errors with their code. */
export class AdminApi {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  post(path: string, body: unknown, contentType = "application/json"): Promise<Record<string, any>> {
    return this.call("POST", path, typeof body === "string" ? body : JSON.stringify(body), contentType);
  }

  get(path: string): Promise<Record<string, any>> {
    return this.call("GET", path);
  }

  private async call(method: string, path: string, body?: string, contentType?: string): Promise<Record<string, any>> {
    let res: Response;
    try {
      res = await fetch(`${this.url}/v1/admin${path}`, { method, headers: { authorization: `Bearer ${this.token}`, ...(contentType ? { "content-type": contentType } : {}) }, body });
    } catch (e) {
      throw new Error(`cannot reach ${this.url} (${e instanceof Error ? e.message : String(e)}): is gridkey running?`);
    }
    const json = (await res.json().catch(() => ({}))) as Record<string, any>;
    if (!res.ok) throw new AdminError(`${method} /v1/admin${path}: HTTP ${res.status} ${json.error?.code ?? ""}: ${json.error?.message ?? ""}`, json.error?.code ?? `http_${res.status}`);
    return json;
  }
}

export class AdminError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}
