import type { StatusSnapshot, StatuspageIncident } from './status-model.js';

/** Escapes text for HTML and XML. */
export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const LABELS: Record<string, string> = {
  operational: 'Operational',
  degraded_performance: 'Degraded performance',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
  under_maintenance: 'Under maintenance',
};

const COLORS: Record<string, string> = {
  operational: '#2fcc66',
  degraded_performance: '#f1c40f',
  partial_outage: '#e67e22',
  major_outage: '#e74c3c',
  under_maintenance: '#3498db',
  none: '#2fcc66',
  minor: '#f1c40f',
  major: '#e67e22',
  critical: '#e74c3c',
  maintenance: '#3498db',
};

const STYLE = `
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f7f8fa;color:#1f2933}
main{max-width:860px;margin:0 auto;padding:24px}
h1{font-size:28px;margin:8px 0 16px}
h2{font-size:18px;margin:28px 0 12px}
.banner{padding:16px 20px;border-radius:6px;color:#fff;font-weight:600;font-size:18px}
.card{background:#fff;border:1px solid #e3e7ec;border-radius:6px;margin:0 0 12px;padding:14px 18px}
.component{display:flex;justify-content:space-between;align-items:baseline}
.status{font-size:14px;font-weight:600}
.bars{display:flex;gap:1px;margin-top:8px;height:28px}
.bar{flex:1;border-radius:1px}
.uptime{font-size:12px;color:#6b7785;margin-top:4px;display:flex;justify-content:space-between}
.update{margin:8px 0 0;padding-left:12px;border-left:3px solid #e3e7ec}
.update small,.muted{color:#6b7785;font-size:13px}
ul.history{list-style:none;padding:0}
ul.history li{padding:6px 0;border-bottom:1px solid #e3e7ec}
`;

function incidentCard(incident: StatuspageIncident): string {
  const updates = incident.incident_updates
    .map(
      (update) =>
        `<div class="update"><strong>${escapeXml(update.status)}</strong> — ${escapeXml(update.body)}<br><small>${escapeXml(update.display_at)}</small></div>`,
    )
    .join('');
  const affected = incident.components.length
    ? `<div class="muted">Affects: ${incident.components.map((component) => escapeXml(component.name)).join(', ')}</div>`
    : '';
  return `<article class="card incident" data-incident-id="${escapeXml(incident.id)}" data-impact="${incident.impact}">
<h3 style="margin:0;color:${COLORS[incident.impact]}">${escapeXml(incident.name)}</h3>
<div class="muted">${escapeXml(incident.id)} · ${escapeXml(incident.status)} · started ${escapeXml(incident.started_at)}</div>${affected}${updates}</article>`;
}

/** The status page as one HTML document: no JavaScript, inline CSS, readable without styles too. */
export function renderStatusHtml(snapshot: StatusSnapshot, options: { feedUrl: string }): string {
  const components = snapshot.components
    .filter((component) => !component.only_show_if_degraded || component.status !== 'operational')
    .map((component) => {
      const uptime = snapshot.uptime[component.id];
      const bars = (uptime?.days ?? [])
        .map(
          (day) =>
            `<div class="bar" style="background:${COLORS[day.status]}" title="${day.date}: ${LABELS[day.status]}"></div>`,
        )
        .join('');
      const ratio = uptime ? `${(uptime.ratio * 100).toFixed(2)}% uptime` : '';
      return `<section class="card" data-component-id="${escapeXml(component.id)}" data-status="${component.status}">
<div class="component"><strong>${escapeXml(component.name)}</strong><span class="status" style="color:${COLORS[component.status]}">${LABELS[component.status]}</span></div>
${component.description ? `<div class="muted">${escapeXml(component.description)}</div>` : ''}<div class="bars" aria-hidden="true">${bars}</div>
<div class="uptime"><span>${uptime?.days.length ?? 0} days ago</span><span>${ratio}</span><span>Today</span></div></section>`;
    })
    .join('\n');
  const active = snapshot.unresolved.length
    ? `<h2>Active incidents</h2>${snapshot.unresolved.map(incidentCard).join('\n')}`
    : '';
  const maintenance = snapshot.scheduled_maintenances.filter((entry) => entry.status !== 'completed');
  const maintenanceHtml = maintenance.length
    ? `<h2>Maintenance</h2>${maintenance
        .map(
          (
            entry,
          ) => `<article class="card maintenance" data-maintenance-id="${escapeXml(entry.id)}"><strong>${escapeXml(entry.name)}</strong> <span class="muted">(${entry.status === 'in_progress' ? 'in progress' : 'scheduled'})</span>
<div class="muted">${escapeXml(entry.scheduled_for)} → ${escapeXml(entry.scheduled_until)} · ${entry.components.map((component) => escapeXml(component.name)).join(', ')}</div></article>`,
        )
        .join('\n')}`
    : '';
  const history = snapshot.incidents.filter(
    (incident) => incident.status === 'resolved' || incident.status === 'postmortem',
  );
  const historyHtml = `<h2>Past incidents</h2>${
    history.length
      ? `<ul class="history">${history.map((incident) => `<li><strong>${escapeXml(incident.name)}</strong> <span class="muted">${escapeXml(incident.id)} · ${escapeXml(incident.impact)} · resolved ${escapeXml(incident.resolved_at ?? '')}</span></li>`).join('')}</ul>`
      : '<p class="muted">No incidents in the last 90 days.</p>'
  }`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeXml(snapshot.page.name)} status</title>
<link rel="alternate" type="application/atom+xml" title="${escapeXml(snapshot.page.name)} incidents" href="${escapeXml(options.feedUrl)}">
<style>${STYLE}</style></head>
<body><main>
<h1>${escapeXml(snapshot.page.name)}</h1>
<div class="banner" id="page-status" data-indicator="${snapshot.status.indicator}" style="background:${COLORS[snapshot.status.indicator]}">${escapeXml(snapshot.status.description)}</div>
${active}
${maintenanceHtml}
<h2>Components</h2>
${components}
${historyHtml}
<p class="muted">Updated ${escapeXml(snapshot.page.updated_at)} · <a href="${escapeXml(options.feedUrl)}">Atom feed</a></p>
</main></body></html>
`;
}

/** An Atom 1.0 feed of the page's incidents (one entry per incident, updated with its latest public update). */
export function renderStatusAtom(snapshot: StatusSnapshot, options: { selfUrl: string }): string {
  const entries = snapshot.incidents
    .map((incident) => {
      const content = incident.incident_updates
        .map(
          (update) =>
            `<p><strong>${escapeXml(update.status)}</strong> (${escapeXml(update.display_at)}): ${escapeXml(update.body)}</p>`,
        )
        .join('');
      return `<entry>
<id>tag:${escapeXml(new URL(snapshot.page.url).host)},2026:incident:${escapeXml(incident.id)}</id>
<title>${escapeXml(`${incident.name} (${incident.status})`)}</title>
<link rel="alternate" href="${escapeXml(incident.shortlink)}"/>
<published>${incident.created_at}</published>
<updated>${incident.updated_at}</updated>
<content type="html">${escapeXml(content || `<p>${escapeXml(incident.status)}</p>`)}</content>
</entry>`;
    })
    .join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<id>${escapeXml(snapshot.page.url)}</id>
<title>${escapeXml(snapshot.page.name)} status</title>
<updated>${snapshot.page.updated_at}</updated>
<link rel="self" href="${escapeXml(options.selfUrl)}"/>
<link rel="alternate" href="${escapeXml(snapshot.page.url)}"/>
<author><name>${escapeXml(snapshot.page.name)}</name></author>
${entries}
</feed>
`;
}
