/** The dashboard's stylesheet, served as its own file so the CSP needs no inline styles. */
export const DASHBOARD_CSS = `
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6675; --line: #d8dde5; --accent: #0b5cad; --bad: #b42318; --warn: #b54708; --good: #067647; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f7f9; }
header { display: flex; align-items: center; gap: 1rem; padding: .6rem 1.2rem; background: #12263f; color: #fff; }
header h1 { font-size: 1.1rem; margin: 0; letter-spacing: .02em; }
header p { margin: 0 0 0 auto; color: #c9d4e3; }
header button { background: transparent; color: #fff; border: 1px solid #6f86a3; }
main, #sign-in { max-width: 1200px; margin: 1rem auto; padding: 0 1.2rem; }
#sign-in form { display: flex; gap: .5rem; align-items: center; }
#sign-in input { width: 32rem; max-width: 100%; }
nav { display: flex; gap: .25rem; border-bottom: 1px solid var(--line); margin-bottom: 1rem; }
nav button { border: 0; border-bottom: 3px solid transparent; background: none; padding: .5rem .8rem; border-radius: 0; }
nav button[aria-current="page"] { border-bottom-color: var(--accent); color: var(--accent); font-weight: 600; }
button { font: inherit; padding: .3rem .7rem; border: 1px solid var(--line); border-radius: 4px; background: #fff; cursor: pointer; }
button:disabled { opacity: .45; cursor: not-allowed; }
button.danger { border-color: var(--bad); color: var(--bad); }
input, select { font: inherit; padding: .25rem .4rem; border: 1px solid var(--line); border-radius: 4px; }
table { border-collapse: collapse; width: 100%; background: #fff; margin-bottom: 1rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.actions { white-space: nowrap; }
td.actions button { margin-right: .3rem; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: .92em; }
.error { color: var(--bad); font-weight: 600; }
.hint { color: var(--muted); }
.filters { display: flex; gap: .8rem; align-items: center; margin-bottom: .6rem; }
.state-active { color: var(--good); }
.state-suspended { color: var(--warn); }
.state-revoked { color: var(--bad); }
.bad { color: var(--bad); font-weight: 600; }
.warn { color: var(--warn); font-weight: 600; }
.good { color: var(--good); font-weight: 600; }
#notice { padding: .5rem .8rem; background: #e8f1fb; border: 1px solid #b3cde9; border-radius: 4px; }
#notice.error { background: #fdecea; border-color: #f3b8b2; }
#chain-status { padding: .5rem .8rem; border-radius: 4px; background: #fff; border: 1px solid var(--line); }
dialog { border: 1px solid var(--line); border-radius: 6px; padding: 1.2rem; max-width: 32rem; }
dialog::backdrop { background: rgba(18, 38, 63, .45); }
dialog h2 { margin-top: 0; font-size: 1.1rem; }
dialog label { display: block; margin: .6rem 0; }
dialog input { width: 100%; margin-top: .2rem; }
dialog menu { display: flex; justify-content: flex-end; gap: .5rem; padding: 0; margin: 1rem 0 0; }
progress { width: 8rem; vertical-align: middle; }
.chart { background: #fff; border: 1px solid var(--line); border-radius: 4px; margin-bottom: .4rem; }
.chart text { font-size: 11px; fill: var(--muted); }
.chart .bar { fill: var(--accent); }
.chart .bar-zero { fill: #9fb6cf; }
.chart .axis { stroke: var(--line); }
.chart .label { font-size: 12px; fill: var(--ink); font-weight: 600; }
details { margin-bottom: 1rem; }
td.details { max-width: 26rem; overflow-wrap: anywhere; }
#audit-list td { font-size: .9em; }
`;
