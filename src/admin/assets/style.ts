/**
 * The panel's stylesheet: plain, readable, no framework; usable down to a
 * 390 px phone screen (wide tables scroll inside their wrapper).
 */
export const STYLESHEET = `
:root { --fg: #1d2330; --muted: #5b6474; --line: #d8dde6; --bg: #f6f7f9; --accent: #1f5fbf; --ok: #17703a; --warn: #8a5a00; --err: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .6rem 1.5rem; background: #fff; border-bottom: 1px solid var(--line); }
header.top .brand { font-weight: 700; text-decoration: none; color: var(--fg); }
header.top nav { display: flex; flex-wrap: wrap; align-items: center; gap: .4rem 1rem; flex: 1; }
header.top .who { margin-left: auto; color: var(--muted); }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
table.settings th { width: 18rem; font-weight: 600; }
td.actions { width: 3rem; text-align: right; }
td.reply { font-family: ui-monospace, monospace; font-size: .85em; max-width: 24rem; overflow-wrap: anywhere; }
a.edit { text-decoration: none; font-size: 1.1em; padding: 0 .3rem; }
form.narrow { max-width: 34rem; display: grid; gap: .35rem; background: #fff; padding: 1rem; border: 1px solid var(--line); }
form.grid { display: grid; gap: .35rem; max-width: 34rem; }
form.grid button, form.narrow button { justify-self: start; }
form.inline, form.inline-form { display: inline; }
form.filters { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; margin-bottom: 1rem; }
label.choice { display: block; }
fieldset { border: 1px solid var(--line); padding: .5rem .8rem; }
input, select, textarea, button { font: inherit; }
input:not([type=radio]):not([type=checkbox]), select, textarea { padding: .35rem .5rem; border: 1px solid #b8c0cc; border-radius: 3px; width: 100%; }
input[aria-invalid=true], select[aria-invalid=true], textarea[aria-invalid=true] { border-color: var(--err); }
input.copy-source { width: auto; min-width: 28rem; font-family: ui-monospace, monospace; }
button, a.button { background: var(--accent); color: #fff; border: 0; border-radius: 3px; padding: .4rem .9rem; cursor: pointer; text-decoration: none; display: inline-block; }
button[disabled] { background: #9aa3b1; cursor: not-allowed; }
button.link { background: none; color: var(--accent); padding: 0; text-decoration: underline; }
button.danger, a.danger { background: var(--err); color: #fff; }
a.danger { background: none; color: var(--err); }
.muted { color: var(--muted); }
.help { color: var(--muted); font-size: .9em; }
.field-error, .form-error { color: var(--err); margin: 0; font-weight: 600; }
.status-ok strong { color: var(--ok); }
.status-error strong, .status-error { color: var(--err); }
.status-none strong { color: var(--warn); }
.status-message, .status-fix { display: block; }
.mark-warn { color: var(--warn); font-weight: 600; }
.banner { background: #fff4d6; border-bottom: 1px solid #e8c66a; padding: .5rem 1.5rem; }
.banner p { margin: .2rem 0; }
.flash { padding: .6rem .9rem; border: 1px solid; border-radius: 3px; margin-bottom: 1rem; background: #fff; }
.flash p { margin: .2rem 0; }
.flash-success { border-color: var(--ok); }
.flash-error { border-color: var(--err); }
.action-box { background: #fff; border: 1px solid var(--line); padding: .8rem 1rem; margin-bottom: 1rem; }
.test-result { margin-top: .8rem; padding: .6rem .9rem; border: 1px solid; }
pre.transcript { background: #11151c; color: #e6e9ef; padding: .6rem; overflow: auto; font-size: .85em; }
.badge { padding: 0 .4rem; border-radius: 3px; background: var(--line); white-space: nowrap; }
.badge-delivered { background: #d4eedc; } .badge-failed { background: #f7d6d3; } .badge-held { background: #fbe7b5; } .badge-deferred { background: #fbe7b5; }
.hint { color: var(--warn); margin: .2rem 0 0; }
dl.facts { display: grid; grid-template-columns: 12rem minmax(0, 1fr); gap: .3rem 1rem; background: #fff; padding: 1rem; border: 1px solid var(--line); }
dl.facts dt { font-weight: 600; }
/* Microsoft's replies carry unbreakable tokens (STOREDRV.Submission.Exception:…): they wrap anywhere rather than widen the page. */
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
ol.tail, ol.events { background: #fff; border: 1px solid var(--line); padding: .5rem 2rem; font-size: .9em; overflow-wrap: anywhere; }
ol.tail:empty { display: none; }
.buttons { display: flex; flex-wrap: wrap; gap: .6rem; align-items: center; margin: .5rem 0; }
.table-scroll { overflow-x: auto; margin-bottom: .5rem; }
.table-scroll > table { min-width: 34rem; }
.table-scroll > table.log { min-width: 48rem; }
/* The relay log: fixed columns share the box, and long addresses and replies wrap inside their cells. */
table.log { table-layout: fixed; }
table.log th.when { width: 8rem; }
table.log th.status { width: 7rem; }
table.log th.reply { width: 27%; }
table.log th.server { width: 16%; }
table.log td { overflow-wrap: anywhere; }
table.log .below { display: block; color: var(--muted); font-size: .85em; }
details.whole-reply summary { cursor: pointer; }
details.whole-reply .opened, details.whole-reply[open] .preview { display: none; }
details.whole-reply[open] .opened { display: inline; font-family: system-ui, sans-serif; color: var(--muted); }
table.recipients td { overflow-wrap: anywhere; }
/* The Refused page: long details and fixes wrap in their cells; on a phone each row becomes a labelled block. */
table.refused td.reply { max-width: none; min-width: 14rem; }
table.refused td.when { min-width: 7rem; }
table.refused td.client { overflow-wrap: anywhere; min-width: 9rem; }
table.refused td.fix { min-width: 12rem; }
table.refused .below { display: block; color: var(--muted); font-size: .85em; }
.warning, .notice { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--accent); padding: .5rem .8rem; margin: .6rem 0; }
.warning { background: #fff4d6; border-color: #e8c66a; border-left-color: var(--warn); }
.warning ul { margin: .3rem 0; }
.one-time { background: #fff; border: 2px solid var(--ok); padding: .2rem 1rem .6rem; margin-bottom: 1rem; }
.copy-row { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.copy-row input.copy-source { flex: 1 1 16rem; min-width: 0; }
dd.fingerprint { font-family: ui-monospace, monospace; font-size: .85em; overflow-wrap: anywhere; }
code.thumbprint { font-size: .85em; overflow-wrap: anywhere; }
li.alert.alert-warning { border-left-color: var(--warn); }
li.alert p { margin: .2rem 0; overflow-wrap: anywhere; }
label.check { display: flex; gap: .4rem; align-items: center; font-weight: normal; }
.visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
ul.server-states, ul.alerts, ul.counts, ul.legend { list-style: none; margin: 0; padding: 0; }
ul.server-states { background: #fff; border: 1px solid var(--line); }
ul.server-states li { display: flex; flex-wrap: wrap; align-items: baseline; gap: .2rem .8rem; padding: .55rem .8rem; border-bottom: 1px solid var(--line); }
ul.server-states li:last-child { border-bottom: 0; }
ul.server-states .server-name { font-weight: 600; }
ul.server-states .status { flex: 1 1 16rem; overflow-wrap: anywhere; }
li.alert { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--err); padding: .5rem .8rem; margin-bottom: .5rem; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(15rem, 1fr)); gap: 1rem; margin-top: 1.5rem; }
.tile { background: #fff; border: 1px solid var(--line); padding: 0 1rem .8rem; overflow-wrap: anywhere; }
.tile h2 { font-size: 1rem; margin: .7rem 0 .5rem; }
.tile p { margin: 0; }
.big { font-size: 1.35rem; }
ul.counts { display: grid; grid-template-columns: 1fr 1fr; gap: .4rem; }
ul.counts a { display: block; padding: .25rem .5rem; border: 1px solid var(--line); border-radius: 3px; color: var(--fg); text-decoration: none; }
ul.counts a:hover { border-color: var(--accent); }
ul.counts strong { font-size: 1.2rem; margin-right: .2rem; }
.tile .help { margin: .4rem 0 0; }
.count-warn a { background: #fff4d6; border-color: #e8c66a; }
.count-error a { background: #fbe3e1; border-color: var(--err); }
.expiry-urgent, .expiry-urgent strong { color: var(--err); }
figure.chart { max-width: 44rem; margin: 0; padding: .8rem; background: #fff; border: 1px solid var(--line); }
svg.hourly-chart { display: block; width: 100%; height: auto; }
svg.hourly-chart text { font-size: 11px; fill: var(--muted); }
svg.hourly-chart line.grid { stroke: var(--line); }
svg.hourly-chart line.axis { stroke: var(--muted); }
.bar-delivered { fill: var(--ok); background: var(--ok); }
.bar-deferred { fill: #e0a100; background: #e0a100; }
.bar-held { fill: #9c4f00; background: #9c4f00; }
.bar-failed { fill: var(--err); background: var(--err); }
ul.legend { display: flex; flex-wrap: wrap; gap: .3rem 1.2rem; margin: .6rem 0 .2rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .35rem; border-radius: 2px; vertical-align: -.05rem; }
@media (max-width: 40rem) {
  header.top { padding: .5rem .75rem; }
  header.top .who { margin-left: 0; }
  main { padding: .75rem .75rem 2rem; }
  dl.facts { grid-template-columns: 1fr; gap: 0; }
  dl.facts dd { margin-bottom: .5rem; }
  table.settings th { width: auto; }
  table.settings td { overflow-wrap: anywhere; }
  /* A list table not already in a .table-scroll wrapper scrolls inside itself, never the page. */
  table.list { display: block; overflow-x: auto; }
  input.copy-source { min-width: 0; width: 100%; }
  /* The chart is drawn at about 0.7 of its size on a phone: larger type keeps the hours readable. */
  figure.chart { padding: .5rem; }
  svg.hourly-chart text { font-size: 15px; }
  /* Tables marked stacked (the relay log, the Refused page, a message's recipients): each row becomes a labelled block. */
  .table-scroll > table.stacked { min-width: 0; }
  table.stacked thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.stacked tr, table.stacked td { display: block; }
  table.stacked tr { border-bottom: 1px solid var(--line); padding: .4rem 0; }
  table.stacked td { border: 0; padding: .1rem .6rem; min-width: 0; max-width: none; overflow-wrap: anywhere; }
  table.stacked td::before { content: attr(data-label) ": "; font: 600 .85rem system-ui, sans-serif; color: var(--muted); }
}
`;
