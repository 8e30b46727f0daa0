/**
 * The dashboard's one page: a static shell the client script fills from the admin API. It
 * holds no data and no token, so it can be served to anyone; everything it shows comes from
 * /v1/admin calls the browser makes with the operator's bearer token.
 */
export const SHELL_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>gridkey dashboard</title>
<link rel="icon" href="/dashboard/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header>
  <h1>gridkey</h1>
  <p id="who" hidden></p>
  <button type="button" id="sign-out" hidden>Sign out</button>
</header>

<section id="sign-in" aria-labelledby="sign-in-title">
  <h2 id="sign-in-title">Sign in</h2>
  <p>Paste an operator token (admin, operator or auditor). It is kept in this tab's session storage only, and sent only as the <code>Authorization</code> header of API calls.</p>
  <form id="sign-in-form" autocomplete="off">
    <label for="token">Token</label>
    <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required>
    <button type="submit">Sign in</button>
  </form>
  <p id="sign-in-error" role="alert" class="error" hidden></p>
</section>

<main id="app" hidden>
  <nav aria-label="Views">
    <button type="button" data-view="fleet">Fleet</button>
    <button type="button" data-view="programs">DR programs</button>
    <button type="button" data-view="keys">Key ages</button>
    <button type="button" data-view="timeline">Rekey timeline</button>
    <button type="button" data-view="audit" data-roles="admin auditor">Audit log</button>
  </nav>
  <p id="notice" role="status" hidden></p>
  <section id="view-fleet" class="view" hidden aria-labelledby="fleet-title">
    <h2 id="fleet-title">Fleet by region and state</h2>
    <div id="fleet-summary"></div>
    <h3>Meters and gateways</h3>
    <form id="meter-filter" class="filters" autocomplete="off">
      <label>Region <input name="region" size="12"></label>
      <label>State <select name="state"><option value="">any</option><option>active</option><option>suspended</option><option>revoked</option></select></label>
      <button type="submit">Filter</button>
    </form>
    <div id="meter-list"></div>
  </section>
  <section id="view-programs" class="view" hidden aria-labelledby="programs-title">
    <h2 id="programs-title">DR programs</h2>
    <div id="program-list"></div>
  </section>
  <section id="view-keys" class="view" hidden aria-labelledby="keys-title">
    <h2 id="keys-title">Key ages against policy</h2>
    <div id="key-ages"></div>
    <h3>Group keys: DR command counters</h3>
    <div id="group-budgets"></div>
  </section>
  <section id="view-timeline" class="view" hidden aria-labelledby="timeline-title">
    <h2 id="timeline-title">Rekey timeline</h2>
    <p class="hint">One bar per rekey bundle, at the time its epoch was applied; its height is the number of key wraps the bundle carried (joins cost none).</p>
    <div id="timeline"></div>
  </section>
  <section id="view-audit" class="view" hidden aria-labelledby="audit-title">
    <h2 id="audit-title">Audit log</h2>
    <p id="chain-status" role="status"></p>
    <div id="audit-list"></div>
  </section>
</main>

<dialog id="confirm">
  <form method="dialog">
    <h2 id="confirm-title"></h2>
    <p id="confirm-text"></p>
    <label id="confirm-reason-label">Reason (recorded in the audit log) <input id="confirm-reason" maxlength="500" autocomplete="off"></label>
    <menu>
      <button value="cancel" id="confirm-cancel">Cancel</button>
      <button value="ok" id="confirm-ok" class="danger">Confirm</button>
    </menu>
  </form>
</dialog>
</body>
</html>
`;
