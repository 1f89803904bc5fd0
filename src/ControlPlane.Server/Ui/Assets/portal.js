'use strict';

// The customer portal: the customer API (/v1) with the customer's own token; it sees its own contracts only.
(() => {
  const { el, table, api, usd, number, date, time } = Cp;
  let stop = () => {};
  let main = null;
  let chosen = null;

  Cp.start({
    storageKey: 'controlplane.customerToken',
    // Every refresh reads each usage day of the term: a customer's page need not be live to the second.
    pollMs: 15000,
    title: 'ControlPlane customer portal',
    tokenLabel: 'Customer token',
    placeholder: 'the token your provider issued you',
    signInHelp: 'Paste the customer token your provider issued (POST /admin/v1/tokens with role "customer"). It stays in this browser tab only.',
    probePath: '/v1/contracts',
    wrongRole: 'This token is valid but it is not a customer token (operators sign in at /console).',
    onSignedIn: () => {
      main = Cp.frame('ControlPlane customer portal', [], () => {});
      stop();
      stop = Cp.every(refresh);
    },
  });

  function panel(title, ...children) {
    return el('section', { class: 'panel' }, el('h2', { text: title }), ...children);
  }

  function figure(label, value, id) {
    return el('div', { class: 'figure', 'data-figure': id }, el('div', { class: 'label', text: label }), el('div', { class: 'value', text: value }));
  }

  async function refresh() {
    const [contracts, paygInvoices, paygOpen] = await Promise.all([
      api('GET', '/v1/contracts'),
      api('GET', '/v1/pay-as-you-go/invoices'),
      api('GET', '/v1/pay-as-you-go/invoices/preview')]);
    const payg = payAsYouGo(paygOpen, paygInvoices);
    if (contracts.length === 0) {
      main.replaceChildren(panel('No contract', el('p', { text: 'You have no contract yet. Usage without one is billed monthly at list price.' })), payg);
      return;
    }
    const now = Date.now();
    const running = contracts.find(c => new Date(c.quarters[0].start).getTime() <= now && now < new Date(c.quarters[c.quarters.length - 1].end).getTime());
    if (!chosen || !contracts.some(c => c.contractId === chosen)) chosen = (running || contracts[contracts.length - 1]).contractId;
    const contract = contracts.find(c => c.contractId === chosen);
    const id = encodeURIComponent(contract.contractId);
    const [forecast, daily, invoices, slas] = await Promise.all([
      api('GET', `/v1/contracts/${id}/forecast`).catch(e => ({ error: e.message })),
      api('GET', `/v1/contracts/${id}/usage/daily`),
      api('GET', `/v1/contracts/${id}/invoices`),
      api('GET', `/v1/contracts/${id}/slas`)]);

    const picker = contracts.length > 1
      ? el('p', {}, 'Contract ', el('select', { id: 'contract', onchange: event => { chosen = event.target.value; refresh(); } },
        contracts.map(c => el('option', { value: c.contractId, text: `${c.contractId} (${date(c.terms.startDate)} to ${date(c.terms.endDate)})`, selected: c.contractId === chosen }))))
      : null;
    const t = contract.terms;
    main.replaceChildren(
      el('section', { class: 'panel', 'data-contract': contract.contractId },
        el('h2', { text: `Contract ${contract.contractId}` }), picker,
        el('p', { class: 'muted', text: `${date(t.startDate)} to ${date(t.endDate)}: ${t.quarters} quarters of ${usd(t.quarterlyCommitUsd)} at ${t.discountPercent}% off list prices; unused commit rolls over up to ${t.rolloverCapPercent}%.` })),
      balance(forecast),
      panel('Quarters', quarterTable(contract)),
      panel('Usage by model (whole term)', table(['Model', { class: 'num', text: 'Input tokens' }, { class: 'num', text: 'Output tokens' }, { class: 'num', text: 'Amount' }],
        contract.usageByModel.map(m => el('tr', { 'data-model': m.model }, el('td', { text: m.model }), el('td', { class: 'num', text: number(m.inputTokens) }),
          el('td', { class: 'num', text: number(m.outputTokens) }), el('td', { class: 'num', text: usd(m.amountUsd) }))), { id: 'usage-by-model' })),
      panel(`Usage by day (Q${daily.quarter})`, dailyTable(daily)),
      panel('SLA periods and credits', slaTable(slas)),
      panel('Invoices', invoiceList(invoices)),
      (paygOpen || paygInvoices.length > 0) ? payg : null);
  }

  // Usage no contract covers: billed by calendar month (UTC) at list price, one invoice a month.
  function payAsYouGo(open, invoices) {
    const lines = i => table(['', 'Month', 'Model', { class: 'num', text: 'Input tokens' }, { class: 'num', text: 'Output tokens' },
      { class: 'num', text: 'List price per 1M (in / out)' }, { class: 'num', text: 'Amount' }],
    i.lines.map(l => el('tr', { 'data-line': `${l.kind}:${l.month}:${l.model}` }, el('td', { text: l.kind }), el('td', { text: l.month }),
      el('td', { text: l.model }), el('td', { class: 'num', text: number(l.inputTokens) }), el('td', { class: 'num', text: number(l.outputTokens) }),
      el('td', { class: 'num', text: `${usd(l.inputUsdPer1M)} / ${usd(l.outputUsdPer1M)}` }), el('td', { class: 'num', text: usd(l.amountUsd) }))));
    return el('section', { class: 'panel', id: 'payg' }, el('h2', { text: 'Pay-as-you-go (usage no contract covers, at list price)' }),
      open
        ? el('div', { id: 'payg-open', 'data-month': open.month }, el('h3', { text: `${open.month} so far: ${usd(open.totalUsd)}` }), lines(open))
        : el('p', { class: 'muted', text: 'No pay-as-you-go usage this month.' }),
      el('h3', { text: 'Pay-as-you-go invoices' }),
      invoices.length === 0
        ? el('p', { class: 'muted', text: 'No pay-as-you-go invoice yet.' })
        : table(['Invoice', 'Month', 'Issued', { class: 'num', text: 'Total' }],
          invoices.slice().reverse().map(i => el('tr', { 'data-invoice': i.invoiceId }, el('td', { text: i.invoiceId }), el('td', { text: i.month }),
            el('td', { text: time(i.issuedAt) }), el('td', { class: 'num', text: usd(i.totalUsd) }))), { id: 'payg-invoices' }),
      el('p', { class: 'muted', text: 'A month is invoiced a few days after it ends; usage that arrives for a month already invoiced goes on the next invoice, never changing an issued one.' }));
  }

  function slaTable(slas) {
    if (slas.length === 0) return el('p', { class: 'muted', text: 'No SLO terms on this contract.' });
    const pct = v => (v === null || v === undefined ? 'none yet' : `${v}%`);
    return el('div', {}, table(['Deployment', 'Period', { class: 'num', text: 'Attainment' }, { class: 'num', text: 'Target' },
      { class: 'num', text: 'Minutes met / missed / unmeasured' }, { class: 'num', text: 'Credit' }, 'State'],
    slas.slice().reverse().map(p => {
      const m = p.measurement;
      return el('tr', { 'data-sla': `${m.deploymentId}:${m.periodStart}` }, el('td', { text: m.deploymentId }),
        el('td', { text: `${m.periodStart} to ${m.periodEnd}` }), el('td', { class: 'num', text: pct(m.attainmentPercent) }),
        el('td', { class: 'num', text: `${m.targetPercent}%` }),
        el('td', { class: 'num', text: `${number(m.metMinutes)} / ${number(m.missedMinutes)} / ${number(m.unmeasuredMinutes)}` }),
        el('td', { class: 'num', text: p.creditUsd === '0.00' ? '-' : `${usd(p.creditUsd)} (${m.creditPercent}% of ${usd(m.usageUsd)})` }),
        el('td', { text: p.final ? (p.invoiceId ? `on ${p.invoiceId}` : 'final') : 'as it stands' }));
    }), { id: 'slas' }),
    el('p', { class: 'muted', text: 'A minute counts as met when ready capacity covered your demand up to the reservation; a minute nobody measured counts as missed. A credit goes on the close invoice of its quarter, once.' }));
  }

  function balance(f) {
    if (f.error) return panel('This quarter', el('p', { class: 'muted', text: f.error }));
    const runsOut = f.runsOutAt
      ? (new Date(f.runsOutAt).getTime() <= Date.now() ? `used up on ${date(f.runsOutAt)}` : `runs out about ${date(f.runsOutAt)}`)
      : `lasts the quarter (to ${date(f.quarterEnd)})`;
    return panel(`This quarter: Q${f.quarter}, ${date(f.quarterStart)} to ${date(f.quarterEnd)}`,
      el('div', { class: 'grid', id: 'balance' },
        figure('Commit', usd(f.commitUsd), 'commit'),
        figure('Rollover in', usd(f.rolloverInUsd), 'rollover-in'),
        figure('Used', usd(f.usedUsd), 'used'),
        figure('Remaining', usd(f.remainingUsd), 'remaining'),
        f.overageUsd !== '0.00' ? figure('Overage (billed at the same rate)', usd(f.overageUsd), 'overage') : null),
      el('h3', { text: 'Forecast at this quarter\'s burn so far' }),
      el('div', { class: 'grid', id: 'forecast' },
        figure('Burn per day', usd(f.burnUsdPerDay), 'burn'),
        figure('Commit', runsOut, 'runs-out'),
        figure('Projected quarter usage', usd(f.projectedUsageUsd), 'projected'),
        figure('True-up that covers the term (a quarter)', usd(f.trueUpUsd), 'true-up')),
      el('p', { class: 'muted', text: `As of ${time(f.asOf)}. The forecast assumes usage goes on at the rate of this quarter so far; overage is never a penalty: it is billed on the next invoice at your rate.` }));
  }

  function quarterTable(c) {
    return table(['Quarter', 'From', 'To', { class: 'num', text: 'Commit' }, { class: 'num', text: 'Rollover in' }, { class: 'num', text: 'Used' },
      { class: 'num', text: 'Overage' }, { class: 'num', text: 'Unused' }, { class: 'num', text: 'Rolls over' }, 'State'],
    c.quarters.map(q => el('tr', {}, el('td', { text: `Q${q.quarter}` }), el('td', { text: date(q.start) }), el('td', { text: date(q.end) }),
      ...[q.commitUsd, q.rolloverInUsd, q.usageUsd, q.overageUsd, q.unusedUsd, q.rolloverOutUsd].map(v => el('td', { class: 'num', text: usd(v) })),
      el('td', { text: q.closed ? 'closed' : 'open' }))));
  }

  function dailyTable(daily) {
    if (daily.days.length === 0) return el('p', { class: 'muted', text: 'No usage this quarter yet.' });
    const byDay = {};
    for (const d of daily.days) (byDay[d.day] || (byDay[d.day] = [])).push(d);
    const cents = v => Math.round(Number(v) * 100);
    const totals = Object.fromEntries(Object.entries(byDay).map(([day, list]) => [day, list.reduce((s, d) => s + cents(d.amountUsd), 0)]));
    const max = Math.max(1, ...Object.values(totals));
    const rows = Object.keys(byDay).sort().reverse().map(day => {
      const bar = el('div', { class: 'bar' });
      const fill = el('div');
      fill.style.width = `${(100 * totals[day]) / max}%`;
      fill.style.background = 'var(--accent)';
      bar.append(fill);
      return el('tr', { 'data-day': day }, el('td', { text: day }),
        el('td', { text: byDay[day].map(d => `${d.model} ${number(d.inputTokens + d.outputTokens)} tokens ${usd(d.amountUsd)}`).join('; ') }),
        el('td', { class: 'num', text: usd((totals[day] / 100).toFixed(2)) }), el('td', {}, bar));
    });
    return el('div', {}, table(['Day (UTC)', 'By model', { class: 'num', text: 'Amount' }, ''], rows, { id: 'usage-by-day' }),
      el('p', { class: 'muted', text: 'Each day is rounded to the cent on its own; the quarter\'s usage is rounded once, so the days may differ from it by cents.' }));
  }

  function invoiceList(invoices) {
    if (invoices.length === 0) return el('p', { class: 'muted', text: 'No invoice yet.' });
    return table(['Invoice', 'Issued', 'Lines', { class: 'num', text: 'Total' }],
      invoices.slice().reverse().map(i => el('tr', { 'data-invoice': i.invoiceId }, el('td', { text: i.invoiceId }), el('td', { text: time(i.issuedAt) }),
        el('td', {}, i.lines.map(l => el('div', { text: `${l.kind} Q${l.quarter}: ${usd(l.amountUsd)}` }))),
        el('td', { class: 'num', text: usd(i.totalUsd) }))), { id: 'invoices' });
  }
})();
