//! The page: one HTML document, CSS, JS and SVG inline, no network. Deterministic: nothing in
//! it depends on the clock or on iteration order of a hash map.

use std::fmt::Write;

use super::graph::{Node, Panel};
use super::{InvRow, Report, TrendPoint};
use crate::findings::render::short_value;
use crate::findings::State;
use crate::manifest::{human_bytes, Block, Blocks, Table};

/// Escape text for HTML (element content and quoted attributes).
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const CSS: &str = r#"
:root{--bg:#fff;--fg:#1d2330;--mut:#5b6475;--line:#d9dee7;--high:#c62828;--med:#e08a00;--low:#2f6fb3;--ok:#2e7d32;--prod:#1f5fa8;--non:#8a4fb8}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:18px 28px;border-bottom:1px solid var(--line);background:#f6f8fb}header h1{margin:0 0 4px;font-size:22px}
nav a{margin-right:14px;color:var(--prod);text-decoration:none}main{padding:8px 28px 40px;max-width:1500px}
h2{margin:28px 0 10px;font-size:18px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0 14px;font-size:13px}th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f8}td.n{text-align:right;font-variant-numeric:tabular-nums}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid var(--line);border-radius:6px;padding:10px 14px;min-width:150px}.card .v{font-size:22px;font-weight:600}.card .k{color:var(--mut)}
.sev{font-weight:600;text-transform:uppercase;font-size:12px}.sev-high{color:var(--high)}.sev-medium{color:var(--med)}.sev-low{color:var(--low)}
.state-resolved td{color:var(--mut)}details{margin:2px 0}code{font-size:12px;background:#f3f4f7;padding:0 3px;border-radius:3px}
.filters{display:flex;gap:10px;align-items:center;margin:6px 0}.grid{display:flex;flex-wrap:wrap;gap:24px}
.panels{display:flex;gap:18px;overflow-x:auto}.panel{border:1px solid var(--line);border-radius:6px;padding:6px}
.panel h3{margin:4px 6px}svg text{font:12px system-ui,sans-serif}svg .sub{fill:var(--mut);font-size:10px}
.node rect{fill:#fff;stroke:#98a2b3}.env-prod rect{stroke:var(--prod);stroke-width:2}.env-nonprod rect{stroke:var(--non);stroke-width:2}
.kind-missing rect{stroke:var(--high);stroke-dasharray:4 3;fill:#fdecec}.edge{fill:none;stroke:#98a2b3;stroke-width:1.5}
.edge.cross-env{stroke:var(--med);stroke-width:2.5}.edge.dangling{stroke:var(--high);stroke-width:2;stroke-dasharray:5 4}
.legend span{margin-right:14px}.bar{fill:#6d8fc7}.muted{color:var(--mut)}
"#;

const JS: &str = r#"
(function(){
  var sev=document.getElementById('f-sev'),st=document.getElementById('f-state'),tx=document.getElementById('f-text'),cnt=document.getElementById('f-count');
  if(!sev){return;}
  function apply(){
    var rows=document.querySelectorAll('#findings-table tbody tr'),n=0,q=tx.value.toLowerCase();
    for(var i=0;i<rows.length;i++){var r=rows[i];
      var ok=(!sev.value||r.getAttribute('data-sev')===sev.value)&&(!st.value||r.getAttribute('data-state')===st.value)&&(!q||r.textContent.toLowerCase().indexOf(q)>=0);
      r.style.display=ok?'':'none';if(ok){n++;}}
    cnt.textContent=n+' shown';
  }
  sev.addEventListener('change',apply);st.addEventListener('change',apply);tx.addEventListener('input',apply);apply();
})();
"#;

/// Plain text with `` `code` `` spans: escaped, the spans as `<code>`. A backtick without a
/// partner stays a backtick.
pub fn inline(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    let ticks = parts.len() - 1;
    let paired = if ticks % 2 == 1 { ticks } else { parts.len() };
    let mut o = String::with_capacity(s.len());
    for (i, p) in parts.iter().enumerate() {
        if i >= paired {
            o.push('`');
            o.push_str(&esc(p));
        } else if i % 2 == 1 {
            let _ = write!(o, "<code>{}</code>", esc(p));
        } else {
            o.push_str(&esc(p));
        }
    }
    o
}

fn blocks_html(o: &mut String, b: &Blocks) {
    for block in b.iter() {
        match block {
            Block::Heading(h) => {
                let _ = writeln!(o, "<h4>{}</h4>", inline(h));
            }
            Block::Text(t) => {
                let _ = writeln!(o, "<p>{}</p>", inline(t));
            }
            Block::Table(t) => table_html(o, t, None),
            Block::List(items) => {
                o.push_str("<ul>");
                for it in items {
                    let _ = write!(o, "<li>{}</li>", inline(it));
                }
                o.push_str("</ul>\n");
            }
        }
    }
}

fn table_html(o: &mut String, t: &Table, id: Option<&str>) {
    if t.rows.is_empty() {
        o.push_str("<p class=\"muted\">None found.</p>\n");
        return;
    }
    let _ = write!(
        o,
        "<table{}><thead><tr>",
        id.map(|i| format!(" id=\"{i}\"")).unwrap_or_default()
    );
    for h in &t.headers {
        let _ = write!(o, "<th>{}</th>", esc(h));
    }
    o.push_str("</tr></thead><tbody>\n");
    for r in &t.rows {
        o.push_str("<tr>");
        for c in r {
            let _ = write!(o, "<td>{}</td>", inline(c));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table>\n");
}

fn inv_table(o: &mut String, title: &str, head: &str, rows: &[InvRow]) {
    let _ = writeln!(o, "<div><h3>{}</h3><table><thead><tr><th>{}</th><th>Resources</th><th>Bytes</th></tr></thead><tbody>", esc(title), esc(head));
    for r in rows {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&r.key),
            r.count,
            esc(&human_bytes(r.bytes))
        );
    }
    o.push_str("</tbody></table></div>\n");
}

fn card(o: &mut String, v: &str, k: &str, id: &str) {
    let _ = writeln!(
        o,
        "<div class=\"card\" id=\"{id}\"><div class=\"v\">{}</div><div class=\"k\">{}</div></div>",
        esc(v),
        esc(k)
    );
}

const NODE_W: f64 = 150.0;
const NODE_H: f64 = 36.0;
const GAP: f64 = 10.0;
const COL_X: [f64; 4] = [8.0, 178.0, 348.0, 518.0];
const PANEL_W: f64 = 676.0;

fn node_pos(p: &Panel, key: &str) -> Option<(usize, f64)> {
    for (c, col) in p.columns.iter().enumerate() {
        if let Some(i) = col.iter().position(|n| n.key == key) {
            return Some((c, 40.0 + i as f64 * (NODE_H + GAP)));
        }
    }
    None
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    } else {
        s.to_string()
    }
}

fn panel_svg(o: &mut String, p: &Panel) {
    let rows = p.columns.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let h = 50.0 + rows as f64 * (NODE_H + GAP);
    let _ = writeln!(
        o,
        "<div class=\"panel\" data-env=\"{}\"><h3>{}</h3>",
        esc(&p.env),
        esc(&p.title)
    );
    let _ = writeln!(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{PANEL_W}\" height=\"{h}\" viewBox=\"0 0 {PANEL_W} {h}\" role=\"img\" aria-label=\"{}\">", esc(&p.title));
    for (i, t) in ["DNS name", "CloudFront", "Origin", "Data"]
        .iter()
        .enumerate()
    {
        let _ = writeln!(
            o,
            "<text x=\"{}\" y=\"20\" font-weight=\"600\">{t}</text>",
            COL_X[i]
        );
    }
    for e in &p.edges {
        let (Some((cf, yf)), Some((ct, yt))) = (node_pos(p, &e.from), node_pos(p, &e.to)) else {
            continue;
        };
        let x1 = COL_X[cf] + NODE_W;
        let y1 = yf + NODE_H / 2.0;
        let x2 = COL_X[ct];
        let y2 = yt + NODE_H / 2.0;
        let mx = (x1 + x2) / 2.0;
        let _ = writeln!(
            o,
            "<path class=\"edge {}\" data-from=\"{}\" data-to=\"{}\" d=\"M{x1} {y1} C{mx} {y1} {mx} {y2} {x2} {y2}\"/>",
            esc(&e.class),
            esc(&e.from),
            esc(&e.to)
        );
    }
    for (c, col) in p.columns.iter().enumerate() {
        for (i, n) in col.iter().enumerate() {
            node_svg(o, n, COL_X[c], 40.0 + i as f64 * (NODE_H + GAP));
        }
    }
    o.push_str("</svg></div>\n");
}

fn node_svg(o: &mut String, n: &Node, x: f64, y: f64) {
    let _ = writeln!(
        o,
        "<g class=\"node kind-{} env-{}\" data-key=\"{}\"{}><title>{}</title><rect x=\"{x}\" y=\"{y}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"5\"/><text x=\"{}\" y=\"{}\">{}</text><text class=\"sub\" x=\"{}\" y=\"{}\">{}</text></g>",
        esc(&n.kind),
        esc(&n.env),
        esc(&n.key),
        n.id.as_ref().map(|i| format!(" data-id=\"{}\"", esc(i))).unwrap_or_default(),
        esc(&format!("{} ({})", n.label, n.sub)),
        x + 6.0,
        y + 15.0,
        esc(&cut(&n.label, 23)),
        x + 6.0,
        y + 29.0,
        esc(&cut(&n.sub, 28)),
    );
}

fn trend_svg(
    o: &mut String,
    title: &str,
    points: &[TrendPoint],
    value: impl Fn(&TrendPoint) -> u64,
    fmt: impl Fn(u64) -> String,
) {
    let max = points.iter().map(&value).max().unwrap_or(0).max(1) as f64;
    let w = 60.0 * points.len().max(1) as f64 + 20.0;
    let _ = writeln!(o, "<div><h3>{}</h3><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"170\" viewBox=\"0 0 {w} 170\" role=\"img\" aria-label=\"{}\">", esc(title), esc(title));
    for (i, p) in points.iter().enumerate() {
        let v = value(p);
        let bh = (v as f64 / max) * 100.0;
        let x = 10.0 + i as f64 * 60.0;
        let _ = writeln!(
            o,
            "<rect class=\"bar\" x=\"{x}\" y=\"{}\" width=\"44\" height=\"{bh}\"><title>{}: {}</title></rect><text x=\"{x}\" y=\"{}\">{}</text><text class=\"sub\" x=\"{x}\" y=\"160\">{}</text>",
            130.0 - bh,
            esc(&p.snapshot),
            esc(&fmt(v)),
            125.0 - bh,
            esc(&fmt(v)),
            esc(&cut(&p.snapshot, 10))
        );
    }
    o.push_str("</svg></div>\n");
}

/// The page.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let title = format!("infrasnap report: {}", r.snapshot);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body>\n",
        esc(&title)
    );
    let _ = writeln!(o, "<header><h1>{}</h1><nav><a href=\"#summary\">Summary</a><a href=\"#map\">Estate map</a><a href=\"#inventory\">Inventory</a><a href=\"#findings\">Findings</a><a href=\"#changes\">Changes</a><a href=\"#trends\">Trends</a><a href=\"#captured\">Captured</a><a href=\"#sources\">Sources</a></nav></header><main>", esc(&title));

    // Summary.
    let f = &r.findings.counts;
    o.push_str("<h2 id=\"summary\">Summary</h2>\n");
    if let Some(m) = &r.meta {
        let _ = writeln!(
            o,
            "<p>Snapshot <code>{}</code>, started {}, status <b>{}</b>{}.</p>",
            esc(&m.name),
            esc(&m.started_at.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
            esc(m.status.as_str()),
            r.previous
                .as_ref()
                .map(|p| format!(", compared with <code>{}</code>", esc(p)))
                .unwrap_or_default()
        );
    }
    o.push_str("<div class=\"cards\">\n");
    card(
        &mut o,
        &r.inventory.resources.to_string(),
        "resources",
        "c-resources",
    );
    card(
        &mut o,
        &human_bytes(r.inventory.bytes),
        "captured",
        "c-bytes",
    );
    card(&mut o, &f.high.to_string(), "high findings", "c-high");
    card(&mut o, &f.medium.to_string(), "medium findings", "c-medium");
    card(&mut o, &f.low.to_string(), "low findings", "c-low");
    if let Some(d) = &r.diff {
        card(
            &mut o,
            &(d.counts.added + d.counts.removed + d.counts.modified).to_string(),
            "resources changed",
            "c-changed",
        );
    }
    o.push_str("</div>\n");

    // Map.
    o.push_str("<h2 id=\"map\">Estate map: DNS → CloudFront → origin → data</h2>\n<p class=\"legend\"><span style=\"color:var(--prod)\">■ prod</span><span style=\"color:var(--non)\">■ staging, dev, test</span><span style=\"color:var(--med)\">━ non-prod into prod</span><span style=\"color:var(--high)\">┅ dangling: target not in the snapshot</span></p>\n");
    if r.graph.panels.is_empty() {
        o.push_str("<p class=\"muted\">No DNS records, distributions or website buckets in this snapshot.</p>\n");
    } else {
        o.push_str("<div class=\"panels\">\n");
        for p in &r.graph.panels {
            panel_svg(&mut o, p);
        }
        o.push_str("</div>\n");
    }

    // Inventory.
    o.push_str("<h2 id=\"inventory\">Inventory</h2>\n<div class=\"grid\">\n");
    inv_table(&mut o, "By kind", "Kind", &r.inventory.by_kind);
    inv_table(&mut o, "By account", "Account", &r.inventory.by_account);
    inv_table(&mut o, "By region", "Region", &r.inventory.by_region);
    o.push_str("</div>\n");
    if !r.inventory.largest_buckets.is_empty() {
        let _ = writeln!(o, "<h3>Largest buckets (top {})</h3><table><thead><tr><th>Bucket</th><th>Objects</th><th>Bytes</th></tr></thead><tbody>", super::TOP);
        for (b, n, bytes) in &r.inventory.largest_buckets {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td class=\"n\">{n}</td><td class=\"n\">{}</td></tr>",
                esc(b),
                esc(&human_bytes(*bytes))
            );
        }
        o.push_str("</tbody></table>\n");
    }

    // Findings.
    o.push_str("<h2 id=\"findings\">Findings</h2>\n");
    let _ = writeln!(
        o,
        "<p>{} high, {} medium, {} low ({} new, {} regressed); {} resolved, {} suppressed. As of {}.</p>",
        f.high, f.medium, f.low, f.new, f.regressed, f.resolved, f.suppressed, esc(&r.findings.as_of)
    );
    o.push_str("<div class=\"filters\"><label>Severity <select id=\"f-sev\"><option value=\"\">all</option><option>high</option><option>medium</option><option>low</option></select></label><label>State <select id=\"f-state\"><option value=\"\">all</option><option>new</option><option>persisting</option><option>regressed</option><option>resolved</option></select></label><label>Search <input id=\"f-text\" type=\"search\" placeholder=\"rule, resource, text\"></label><span id=\"f-count\" class=\"muted\"></span></div>\n");
    o.push_str("<table id=\"findings-table\"><thead><tr><th>Severity</th><th>Rule</th><th>State</th><th>Resource</th><th>Finding</th></tr></thead><tbody>\n");
    for x in &r.findings.findings {
        let _ = write!(
            o,
            "<tr class=\"state-{}\" data-sev=\"{}\" data-state=\"{}\" data-rule=\"{}\"><td class=\"sev sev-{}\">{}</td><td><code>{}</code></td><td>{}{}</td><td><code>{}</code></td><td><details><summary>{}</summary>",
            x.state.as_str(),
            x.severity.as_str(),
            x.state.as_str(),
            esc(&x.rule),
            x.severity.as_str(),
            x.severity.as_str(),
            esc(&x.rule),
            x.state.as_str(),
            x.suppressed.as_ref().map(|s| if s.expired { format!(" (suppression expired {})", esc(&s.expires)) } else { format!(" (suppressed until {}: {})", esc(&s.expires), esc(&s.reason)) }).unwrap_or_default(),
            esc(&x.resource),
            esc(&x.title),
        );
        if x.state != State::Resolved {
            o.push_str("<ul>");
            for e in &x.evidence {
                let at = match &e.resource {
                    Some(res) => format!("{res} {}", e.pointer),
                    None => e.pointer.clone(),
                };
                let _ = write!(
                    o,
                    "<li><code>{}</code>: {}</li>",
                    esc(at.trim()),
                    esc(&short_value(&e.value))
                );
            }
            let _ = write!(o, "</ul><p><b>What to do:</b> {}</p>", esc(&x.action));
        }
        o.push_str("</details></td></tr>\n");
    }
    o.push_str("</tbody></table>\n");

    // Changes.
    o.push_str("<h2 id=\"changes\">Changes since the previous snapshot</h2>\n");
    match &r.diff {
        None => o.push_str("<p class=\"muted\">No earlier snapshot to compare with.</p>\n"),
        Some(d) => {
            let c = &d.counts;
            let _ = writeln!(
                o,
                "<p>From <code>{}</code> to <code>{}</code>: {} added, {} removed, {} modified, {} unchanged, {} not comparable.</p>",
                esc(&d.from.name), esc(&d.to.name), c.added, c.removed, c.modified, c.unchanged, c.not_comparable
            );
            o.push_str("<table><thead><tr><th>Kind</th><th>Added</th><th>Removed</th><th>Modified</th><th>Unchanged</th><th>Not comparable</th></tr></thead><tbody>\n");
            for k in &d.kinds {
                let c = &k.counts;
                let _ = writeln!(o, "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>", esc(&k.kind), c.added, c.removed, c.modified, c.unchanged, c.not_comparable);
            }
            o.push_str("</tbody></table>\n");
            let changed: Vec<_> = d
                .kinds
                .iter()
                .flat_map(|k| k.resources.iter().take(super::DIFF_LISTED))
                .collect();
            if !changed.is_empty() {
                o.push_str("<table><thead><tr><th>Resource</th><th>Status</th><th>What changed</th></tr></thead><tbody>\n");
                for res in changed {
                    let mut what: Vec<String> =
                        res.changes.iter().take(8).map(|c| c.at.clone()).collect();
                    if let Some(ob) = &res.objects {
                        what.push(format!(
                            "objects: {} added, {} removed, {} changed",
                            ob.added, ob.removed, ob.changed
                        ));
                    }
                    if let Some(it) = &res.items {
                        what.push(format!(
                            "items: {} added, {} removed, {} changed",
                            it.added, it.removed, it.changed
                        ));
                    }
                    what.extend(res.parts.iter().map(|p| format!("part {}", p.name)));
                    let status = serde_json::to_value(res.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    let _ = writeln!(
                        o,
                        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                        esc(&res.id.to_string()),
                        esc(&status),
                        esc(&what.join("; "))
                    );
                }
                o.push_str("</tbody></table>\n");
            }
        }
    }

    // Trends.
    let _ = writeln!(
        o,
        "<h2 id=\"trends\">Trends (last {} snapshots)</h2><div class=\"grid\">",
        r.trends.len()
    );
    trend_svg(
        &mut o,
        "Resources",
        &r.trends,
        |p| p.resources,
        |v| v.to_string(),
    );
    trend_svg(&mut o, "Bytes", &r.trends, |p| p.bytes, human_bytes);
    trend_svg(
        &mut o,
        "Findings",
        &r.trends,
        |p| p.findings,
        |v| v.to_string(),
    );
    o.push_str("</div>\n");

    // Captured (MANIFEST.md's tables).
    o.push_str("<h2 id=\"captured\">Captured</h2>\n");
    match &r.captured {
        Some(t) => table_html(&mut o, t, Some("captured-table")),
        None => o.push_str("<p class=\"muted\">No metadata.</p>\n"),
    }
    if let Some(t) = r.errors.as_ref().filter(|t| !t.rows.is_empty()) {
        o.push_str("<h3>Errors</h3>\n");
        table_html(&mut o, t, Some("errors-table"));
    }
    // Each source's MANIFEST.md section.
    if !r.sources.is_empty() {
        o.push_str("<h2 id=\"sources\">Sources</h2>\n");
        for d in &r.sources {
            let _ = writeln!(o, "<section class=\"source\"><h3>{}</h3>", esc(&d.title));
            blocks_html(&mut o, &d.blocks);
            o.push_str("</section>\n");
        }
    }
    let _ = writeln!(o, "</main><script>{JS}</script></body></html>");
    o
}
