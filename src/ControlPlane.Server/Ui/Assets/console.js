'use strict';

// The operator console: every figure and every action is a call to the admin API (/admin/v1) with the operator's token.
(() => {
  const { el, table, api, usd, number, time, date } = Cp;
  const tabs = ['Fleet', 'Deployments', 'Commits', 'Capacity', 'Tokens'];
  const views = { Fleet: fleetView, Deployments: deploymentsView, Commits: commitsView, Capacity: capacityView, Tokens: tokensView };
  let stop = () => {};
  let main = null;

  Cp.start({
    storageKey: 'controlplane.operatorToken',
    title: 'ControlPlane operator console',
    tokenLabel: 'Operator token',
    placeholder: 'cpop_... or an issued operator token',
    signInHelp: 'Paste an operator bearer token: the one the server printed at start (also in .controlplane/operator-token) or one issued with POST /admin/v1/tokens. It stays in this browser tab only.',
    probePath: '/admin/v1/pools',
    wrongRole: 'This token is valid but it is not an operator token (a customer token signs in at /portal).',
    onSignedIn: () => {
      main = Cp.frame('ControlPlane console', tabs, show);
      show('Fleet');
    },
  });

  function show(tab) {
    stop();
    main.replaceChildren();
    main.dataset.view = tab.toLowerCase();
    stop = views[tab](main) || (() => {});
  }

  function panel(title, ...children) {
    return el('section', { class: 'panel' }, el('h2', { text: title }), ...children);
  }

  function message() {
    return el('div', { class: 'error', role: 'alert' });
  }

  /** Runs an admin call after an in-page confirmation; shows the outcome in `out`, then refreshes. */
  async function act(out, question, verb, call, refresh) {
    if (!await Cp.confirm(question, verb)) return;
    out.className = 'notice';
    out.textContent = '';
    try {
      await call();
      out.textContent = `${verb}: done.`;
    } catch (e) {
      out.className = 'error';
      out.textContent = e.message;
    }
    if (refresh) await refresh().catch(() => {});
  }

  const pools = ['reserved', 'burst', 'serverless', 'batch', 'idle', 'unavailable'];
  const poolColor = { reserved: 'var(--reserved)', burst: 'var(--burst)', serverless: 'var(--serverless)', batch: 'var(--batch)', idle: 'var(--idle)', unavailable: 'var(--unavailable)' };

  function allocationBar(a) {
    const total = pools.reduce((sum, p) => sum + (a[p] || 0), 0) || 1;
    const bar = el('div', { class: 'bar', title: pools.map(p => `${p} ${a[p]}`).join(', ') });
    for (const p of pools) {
      if (!a[p]) continue;
      const part = el('div');
      part.style.width = `${(100 * a[p]) / total}%`;
      part.style.background = poolColor[p];
      bar.append(part);
    }
    return bar;
  }

  function legend() {
    return el('div', { class: 'legend' }, pools.map(p => {
      const swatch = el('i');
      swatch.style.background = poolColor[p];
      return el('span', {}, swatch, p);
    }));
  }

  // ---- Fleet ------------------------------------------------------------------------------------------------------

  function fleetView(root) {
    const out = message();
    const regions = el('div');
    const nodes = el('div');
    root.append(out, panel('Regions x SKUs', legend(), regions), panel('Nodes', nodes));

    async function refresh() {
      const [poolList, nodeList, deploymentList] = await Promise.all([
        api('GET', '/admin/v1/pools'), api('GET', '/admin/v1/nodes'), api('GET', '/admin/v1/deployments')]);
      const details = await Promise.all(deploymentList.map(d => api('GET', `/admin/v1/deployments/${encodeURIComponent(d.deploymentId)}`).catch(() => null)));
      regions.replaceChildren(poolTable(poolList));
      nodes.replaceChildren(nodeTable(nodeList, gpuMap(details.filter(Boolean)), out, refresh));
    }

    return Cp.every(refresh);
  }

  function poolTable(poolList) {
    const rows = [];
    for (const region of poolList.sort((a, b) => a.region.localeCompare(b.region))) {
      const line = (label, sku, x) => el('tr', { 'data-region': region.region, 'data-sku': sku || null },
        el('td', {}, label), el('td', { text: sku || 'all' }),
        el('td', { class: 'num', text: x.gpusTotal }), el('td', { class: 'num', text: x.gpusHealthy }),
        pools.map(p => el('td', { class: 'num', text: x.allocation[p] })),
        el('td', {}, allocationBar(x.allocation)));
      rows.push(line(el('strong', { text: region.region }), null, region));
      for (const sku of region.skus) rows.push(line('', sku.sku, sku));
    }
    return table(['Region', 'SKU', { class: 'num', text: 'GPUs' }, { class: 'num', text: 'Healthy' },
      ...pools.map(p => ({ class: 'num', text: p })), 'Allocation'], rows, { id: 'pools' });
  }

  /** nodeId -> GPU index -> what runs there, from every deployment's replicas. */
  function gpuMap(deployments) {
    const map = {};
    for (const d of deployments) {
      for (const r of d.replicas) {
        const node = map[r.nodeId] || (map[r.nodeId] = {});
        const tier = d.class === 'dedicated' ? r.tier : d.class;
        for (const i of r.gpuIndices) node[i] = { deployment: d.deploymentId, tier, state: r.state, model: r.model };
      }
    }
    return map;
  }

  function nodeTable(nodeList, running, out, refresh) {
    const rows = nodeList.sort((a, b) => a.region.localeCompare(b.region) || a.nodeId.localeCompare(b.nodeId)).map(n => {
      // A node that is not heard from (suspect, down) or has no inventory yet offers none of its GPUs.
      const usable = ['ready', 'cordoned', 'draining'].includes(n.status);
      const gpus = (n.gpus || []).map(g => {
        const use = (running[n.nodeId] || {})[g.index];
        const free = !g.healthy ? 'unhealthy' : usable ? 'idle' : 'unavailable';
        const cls = use ? use.tier : free === 'idle' ? 'idle' : 'unhealthy';
        const label = use ? `${g.index}: ${use.deployment} (${use.tier}${use.state === 'ready' ? '' : ', ' + use.state})` : `${g.index}: ${free}`;
        return el('span', { class: `gpu ${cls}`, title: `${g.name} ${number(g.memoryTotalMiB)} MiB`, text: label });
      });
      const warm = (n.warmModels || []).map(w => w.model).join(', ');
      const sleeping = (n.sleeping || []).length;
      const actions = [];
      const nodeAction = (verb, path, question) => el('button', {
        class: 'action', 'data-action': verb.toLowerCase(), text: verb,
        onclick: () => act(out, question, verb, () => api('POST', `/admin/v1/nodes/${encodeURIComponent(n.nodeId)}/${path}`), refresh),
      });
      if (n.scheduling === 'schedulable') {
        actions.push(nodeAction('Cordon', 'cordon', `Cordon ${n.nodeId}? Nothing new is placed on it; what runs stays.`));
      } else {
        actions.push(nodeAction('Uncordon', 'uncordon', `Uncordon ${n.nodeId}? New work may be placed on it again${n.scheduling === 'draining' ? ' (this ends the drain)' : ''}.`));
      }
      if (n.scheduling !== 'draining') {
        actions.push(nodeAction('Drain', 'drain', `Drain ${n.nodeId}? Its replicas move away (make-before-break) and nothing new is placed on it.`));
      }
      return el('tr', { 'data-node': n.nodeId },
        el('td', {}, el('strong', { text: n.nodeId }), el('div', { class: 'muted', text: `${n.provider}, ${n.ownership}` })),
        el('td', { text: n.region }),
        el('td', { text: n.sku || '-' }),
        el('td', {}, el('span', { class: `badge ${n.status}`, 'data-status': n.status, text: n.status })),
        el('td', { class: 'num', text: `${n.healthyGpuCount}/${n.gpuCount}` }),
        el('td', {}, gpus.length ? gpus : el('span', { class: 'muted', text: 'no inventory yet' })),
        el('td', { text: (warm || '-') + (sleeping ? ` (${sleeping} asleep)` : '') }),
        el('td', { class: 'muted', text: n.lastHeartbeatAt ? new Date(n.lastHeartbeatAt).toLocaleTimeString() : 'never' }),
        el('td', {}, actions));
    });
    return table(['Node', 'Region', 'SKU', 'Status', { class: 'num', text: 'GPUs' }, 'What each GPU runs', 'Warm models', 'Heartbeat', ''], rows, { id: 'nodes' });
  }

  // ---- Deployments ------------------------------------------------------------------------------------------------

  function deploymentsView(root) {
    const out = message();
    const list = el('div');
    const detail = el('div', {}, el('p', { class: 'muted', text: 'Select a deployment to see its replicas by node.' }));
    let selected = null;
    root.append(out, panel('Deployments', list), panel('Replicas by node', detail), panel('Create a deployment', createForm(out, () => refresh())));

    async function refresh() {
      const items = await api('GET', '/admin/v1/deployments');
      const rows = items.sort((a, b) => a.deploymentId.localeCompare(b.deploymentId)).map(d => el('tr', {
        class: 'clickable' + (d.deploymentId === selected ? ' selected' : ''), 'data-deployment': d.deploymentId,
        onclick: () => { selected = d.deploymentId; refresh(); },
      },
      el('td', {}, el('strong', { text: d.deploymentId })), el('td', { text: d.model }), el('td', { text: d.class }),
      el('td', { text: d.customerId || '-' }),
      el('td', { class: 'num', text: d.desiredReplicas }), el('td', { class: 'num', text: d.placedReplicas }), el('td', { class: 'num', text: d.readyReplicas }),
      el('td', { class: 'num', text: number(d.demandTokensPerSecond) }), el('td', { class: 'num', text: number(d.spilledTokensPerSecond) })));
      list.replaceChildren(table(['Deployment', 'Model', 'Class', 'Customer', { class: 'num', text: 'Desired' }, { class: 'num', text: 'Placed' },
        { class: 'num', text: 'Ready' }, { class: 'num', text: 'Demand tok/s' }, { class: 'num', text: 'Spilled tok/s' }], rows, { id: 'deployments' }));
      // A form being filled in is not rebuilt under the operator's fingers: its figures refresh once it loses focus.
      if (selected && !(detail.contains(document.activeElement) && document.activeElement.matches('input, select'))) {
        try {
          detail.replaceChildren(deploymentDetail(await api('GET', `/admin/v1/deployments/${encodeURIComponent(selected)}`), out, () => { selected = null; return refresh(); }, refresh));
        } catch (e) {
          if (e.status === 404) { selected = null; detail.replaceChildren(el('p', { class: 'muted', text: 'That deployment no longer exists.' })); } else throw e;
        }
      }
    }

    return Cp.every(refresh);
  }

  function deploymentDetail(d, out, afterDelete, refresh) {
    const byNode = {};
    for (const r of d.replicas) (byNode[r.nodeId] || (byNode[r.nodeId] = [])).push(r);
    const rows = Object.keys(byNode).sort().flatMap(node => byNode[node].map((r, i) => el('tr', {},
      el('td', { text: i === 0 ? node : '' }), el('td', { text: r.replicaId }), el('td', { text: r.gpuIndices.join(', ') }),
      el('td', {}, el('span', { class: `badge ${r.state === 'ready' ? 'ready' : r.state === 'failed' ? 'down' : 'suspect'}`, text: r.state })),
      el('td', { text: r.tier }), el('td', { text: r.model }))));
    const skus = el('input', { name: 'skus', placeholder: 'h100-sxm-80gb,h200-...', value: (d.skus || []).join(',') });
    const model = el('input', { name: 'model', value: d.model });
    const gpus = el('input', { name: 'gpusPerReplica', type: 'number', min: 1, value: d.gpusPerReplica });
    const migrate = el('form', {
      class: 'inline',
      onsubmit: event => {
        event.preventDefault();
        const body = {};
        const wanted = skus.value.split(',').map(s => s.trim()).filter(Boolean);
        if (wanted.join(',') !== (d.skus || []).join(',')) body.skus = wanted;
        if (model.value.trim() !== d.model) body.model = model.value.trim();
        if (Number(gpus.value) !== d.gpusPerReplica) body.gpusPerReplica = Number(gpus.value);
        act(out, `Migrate ${d.deploymentId} to ${JSON.stringify(body)}? Its replicas are replaced make-before-break, one by one.`, 'Migrate',
          () => api('POST', `/admin/v1/deployments/${encodeURIComponent(d.deploymentId)}/migrate`, body), refresh);
      },
    },
    el('label', {}, 'SKUs', skus), el('label', {}, 'Model', model), el('label', {}, 'GPUs per replica', gpus),
    el('button', { class: 'action', type: 'submit', text: 'Migrate' }));
    const limits = limitsForm(d, out, refresh);
    const figures = `${d.class}${d.customerId ? ' for ' + d.customerId : ''}, generation ${d.generation}: desired ${d.desiredReplicas} ` +
      `(min ${d.minReplicas}, reserved ${d.reservedReplicas}, max ${d.maxReplicas}), ${d.gpusPerReplica} GPU(s) of at least ${d.minGpuMemoryGiB} GiB per replica, ` +
      `demand ${number(d.demandTokensPerSecond)} tok/s, spilled ${number(d.spilledTokensPerSecond)} tok/s`;
    return el('div', { 'data-detail': d.deploymentId },
      el('p', {}, el('strong', { text: d.deploymentId }), ' ', figures),
      rows.length ? table(['Node', 'Replica', 'GPUs', 'State', 'Tier', 'Model'], rows) : el('p', { class: 'muted', text: 'No replicas placed.' }),
      el('h3', { text: 'Scale limits (replicas)' }), limits,
      el('h3', { text: 'Migrate (hardware, model, size)' }), migrate,
      el('p', {}, el('button', {
        class: 'action danger', text: 'Delete deployment',
        onclick: () => act(out, `Delete ${d.deploymentId}? Every replica stops and the deployment is forgotten.`, 'Delete',
          () => api('DELETE', `/admin/v1/deployments/${encodeURIComponent(d.deploymentId)}`), afterDelete),
      })));
  }

  /** PATCH /admin/v1/deployments/{id} with the limits the operator changed (the others keep their value). */
  function limitsForm(d, out, refresh) {
    const names = d.class === 'dedicated' ? ['minReplicas', 'reservedReplicas', 'maxReplicas'] : ['minReplicas', 'maxReplicas'];
    const labels = { minReplicas: 'Min', reservedReplicas: 'Reserved', maxReplicas: 'Max' };
    const inputs = Object.fromEntries(names.map(n => [n, el('input', { name: n, type: 'number', min: n === 'maxReplicas' ? 1 : 0, step: 1, value: d[n] })]));
    return el('form', {
      class: 'inline', 'data-form': 'limits',
      onsubmit: event => {
        event.preventDefault();
        const body = {};
        for (const [name, input] of Object.entries(inputs)) {
          if (input.value !== '' && Number(input.value) !== d[name]) body[name] = Number(input.value);
        }
        const changes = Object.entries(body).map(([name, value]) => `${labels[name].toLowerCase()} ${d[name]} -> ${value}`);
        if (!changes.length) {
          out.className = 'notice';
          out.textContent = `Scale limits: change min${d.class === 'dedicated' ? ', reserved' : ''} or max of ${d.deploymentId} first.`;
          return;
        }
        act(out, `Scale ${d.deploymentId} limits: ${changes.join(', ')}? Replicas above a lower maximum stop at once; a higher reservation must fit beside the other customers' reservations.`,
          'Scale limits', () => api('PATCH', `/admin/v1/deployments/${encodeURIComponent(d.deploymentId)}`, body), refresh);
      },
    },
    names.map(n => el('label', {}, labels[n], inputs[n])),
    el('button', { class: 'action', type: 'submit', text: 'Scale limits' }));
  }

  function createForm(out, refresh) {
    const field = (name, attrs) => el('input', Object.assign({ name }, attrs || {}));
    const inputs = {
      deploymentId: field('deploymentId', { required: true }), model: field('model', { required: true }),
      class: el('select', { name: 'class' }, ['dedicated', 'serverless', 'batch'].map(c => el('option', { value: c, text: c }))),
      customerId: field('customerId'), gpusPerReplica: field('gpusPerReplica', { type: 'number', min: 1, value: 1 }),
      minGpuMemoryGiB: field('minGpuMemoryGiB', { type: 'number', min: 0, value: 0 }),
      minReplicas: field('minReplicas', { type: 'number', min: 0, value: 0 }), reservedReplicas: field('reservedReplicas', { type: 'number', min: 0, value: 0 }),
      maxReplicas: field('maxReplicas', { type: 'number', min: 1, value: 1 }), tokensPerSecondPerReplica: field('tokensPerSecondPerReplica', { type: 'number', min: 1, value: 1000 }),
    };
    return el('form', {
      class: 'inline',
      onsubmit: event => {
        event.preventDefault();
        const body = {};
        for (const [key, input] of Object.entries(inputs)) {
          if (input.value === '') continue;
          body[key] = input.type === 'number' ? Number(input.value) : input.value.trim();
        }
        act(out, `Create ${body.deploymentId} (${body.class}, ${body.model})?`, 'Create', () => api('POST', '/admin/v1/deployments', body), refresh);
      },
    }, Object.entries(inputs).map(([key, input]) => el('label', {}, key, input)), el('button', { class: 'action primary', type: 'submit', text: 'Create' }));
  }

  // ---- Commits ----------------------------------------------------------------------------------------------------

  function commitsView(root) {
    const out = message();
    const customer = el('input', { name: 'customerId', placeholder: 'customer id', id: 'commits-customer' });
    const contracts = el('div');
    const prices = el('div');
    let shown = sessionStorage.getItem('controlplane.console.customer') || '';
    customer.value = shown;
    const pick = el('form', {
      class: 'inline',
      onsubmit: event => { event.preventDefault(); shown = customer.value.trim(); sessionStorage.setItem('controlplane.console.customer', shown); refresh(); },
    }, el('label', {}, 'Customer', customer), el('button', { class: 'action primary', type: 'submit', text: 'Show contracts' }), el('span', { class: 'muted', id: 'customer-hints' }));
    root.append(out, panel('Contracts', pick, contracts), panel('Prices (list, per million tokens)', prices));

    async function refresh() {
      const [priceList, deployments] = await Promise.all([api('GET', '/admin/v1/prices'), api('GET', '/admin/v1/deployments')]);
      const known = [...new Set(deployments.map(d => d.customerId).filter(Boolean))].sort();
      const hints = document.getElementById('customer-hints');
      if (hints) hints.textContent = known.length ? `customers with deployments: ${known.join(', ')}` : '';
      if (!shown && known.length) { shown = known[0]; customer.value = shown; }
      prices.replaceChildren(table(['Model', { class: 'num', text: 'Input' }, { class: 'num', text: 'Output' }, 'Since'],
        priceList.map(p => el('tr', {}, el('td', { text: p.model }), el('td', { class: 'num', text: usd(p.inputUsdPer1M) }),
          el('td', { class: 'num', text: usd(p.outputUsdPer1M) }), el('td', { class: 'muted', text: time(p.effectiveFrom) })))));
      if (!shown) { contracts.replaceChildren(el('p', { class: 'muted', text: 'Name a customer to see its contracts.' })); return; }
      const customerPath = `/admin/v1/customers/${encodeURIComponent(shown)}`;
      const [list, paygInvoices, paygOpen] = await Promise.all([
        api('GET', `${customerPath}/contracts`),
        api('GET', `${customerPath}/pay-as-you-go/invoices`),
        api('GET', `${customerPath}/pay-as-you-go/invoices/preview`)]);
      const [hooks, deliveries] = await Promise.all([
        api('GET', `${customerPath}/webhooks`), api('GET', `${customerPath}/webhooks/deliveries`)]);
      const payg = el('div', {}, paygBlock(shown, paygInvoices, paygOpen, out, refresh), webhookBlock(shown, hooks.webhooks, deliveries));
      if (!list.length) { contracts.replaceChildren(el('p', { class: 'muted', text: `${shown} has no contract.` }), payg); return; }
      const blocks = [];
      for (const c of list) {
        const [invoices, preview] = await Promise.all([
          api('GET', `/admin/v1/contracts/${encodeURIComponent(c.contractId)}/invoices`),
          api('GET', `/admin/v1/contracts/${encodeURIComponent(c.contractId)}/invoices/preview`).catch(e => ({ error: e.message }))]);
        blocks.push(contractBlock(c, invoices, preview, out, refresh));
      }
      contracts.replaceChildren(...blocks, payg);
    }

    return Cp.every(refresh);
  }

  function contractBlock(c, invoices, preview, out, refresh) {
    const t = c.terms;
    const open = c.quarters.find(q => !q.closed);
    const quarters = table(['Quarter', 'From', 'To', { class: 'num', text: 'Commit' }, { class: 'num', text: 'Rollover in' }, { class: 'num', text: 'Available' },
      { class: 'num', text: 'Used' }, { class: 'num', text: 'Overage' }, { class: 'num', text: 'Unused' }, { class: 'num', text: 'Rollover out' }, 'State', ''],
    c.quarters.map(q => el('tr', { 'data-quarter': q.quarter },
      el('td', { text: `Q${q.quarter}` }), el('td', { text: date(q.start) }), el('td', { text: date(q.end) }),
      ...[q.commitUsd, q.rolloverInUsd, q.availableUsd, q.usageUsd, q.overageUsd, q.unusedUsd, q.rolloverOutUsd].map(v => el('td', { class: 'num', text: usd(v) })),
      el('td', { text: q.closed ? 'closed' : 'open' }),
      el('td', {}, open && q.quarter === open.quarter ? el('button', {
        class: 'action', text: `Close Q${q.quarter}`,
        onclick: () => act(out, `Close Q${q.quarter} of ${c.contractId} and issue its invoice? A closed quarter is final.`, 'Close quarter',
          () => api('POST', `/admin/v1/contracts/${encodeURIComponent(c.contractId)}/quarters/${q.quarter}/close`), refresh),
      }) : null))));
    const amount = el('input', { name: 'additionalQuarterlyCommitUsd', placeholder: '1000.00' });
    const from = el('input', { name: 'effectiveQuarter', type: 'number', min: 1, max: t.quarters, value: open ? open.quarter : t.quarters });
    const trueUp = el('form', {
      class: 'inline',
      onsubmit: event => {
        event.preventDefault();
        act(out, `Raise ${c.contractId}'s commit by ${usd(amount.value)} a quarter from Q${from.value}? Already invoiced commit of that quarter is invoiced at once.`, 'True-up',
          () => api('POST', `/admin/v1/contracts/${encodeURIComponent(c.contractId)}/true-ups`, { additionalQuarterlyCommitUsd: amount.value.trim(), effectiveQuarter: Number(from.value) }), refresh);
      },
    }, el('label', {}, 'Additional commit a quarter (USD)', amount), el('label', {}, 'From quarter', from), el('button', { class: 'action', type: 'submit', text: 'True-up' }));
    return el('div', { 'data-contract': c.contractId },
      el('h3', { text: `${c.contractId} (${c.customerId})` }),
      el('p', { class: 'muted', text: `${date(t.startDate)} to ${date(t.endDate)}, ${t.quarters} quarters of ${usd(t.quarterlyCommitUsd)}, ${t.discountPercent}% off list, rollover up to ${t.rolloverCapPercent}%` +
        (c.trueUps.length ? `; true-ups: ${c.trueUps.map(u => `${usd(u.additionalQuarterlyCommitUsd)} from Q${u.effectiveQuarter}`).join(', ')}` : '') +
        (c.pendingLateUsageUsd !== '0.00' ? `; late usage pending ${usd(c.pendingLateUsageUsd)}` : '') }),
      quarters,
      el('h4', { text: 'Usage by model' }),
      table(['Model', { class: 'num', text: 'Input tokens' }, { class: 'num', text: 'Output tokens' }, { class: 'num', text: 'Amount' }],
        c.usageByModel.map(m => el('tr', {}, el('td', { text: m.model }), el('td', { class: 'num', text: number(m.inputTokens) }), el('td', { class: 'num', text: number(m.outputTokens) }), el('td', { class: 'num', text: usd(m.amountUsd) })))),
      el('h4', { text: 'Invoices' }),
      invoiceTable(invoices, preview),
      el('h4', { text: 'True-up' }), trueUp);
  }

  // Usage no contract covers: one invoice per calendar month (UTC) at list price; the oldest open month closes first.
  function paygBlock(customerId, invoices, open, out, refresh) {
    const lines = i => i.lines.map(l => `${l.kind} ${l.month} ${l.model} ${usd(l.amountUsd)}`).join('; ');
    const rows = invoices.map(i => el('tr', { 'data-invoice': i.invoiceId }, el('td', { text: i.invoiceId }), el('td', { text: time(i.issuedAt) }),
      el('td', { text: lines(i) }), el('td', { class: 'num', text: usd(i.totalUsd) })));
    let close = null;
    if (open) {
      rows.push(el('tr', { class: 'muted', 'data-preview': open.month }, el('td', { text: 'preview' }), el('td', { text: `if ${open.month} closed now` }),
        el('td', { text: lines(open) }), el('td', { class: 'num', text: usd(open.totalUsd) })));
      const [year, month] = open.month.split('-').map(Number);
      if (Date.now() >= Date.UTC(year, month, 1)) {
        close = el('button', {
          class: 'action', text: `Close ${open.month}`,
          onclick: () => act(out, `Close ${open.month} for ${customerId} and issue its invoice? A closed month is final.`, 'Close month',
            () => api('POST', `/admin/v1/customers/${encodeURIComponent(customerId)}/pay-as-you-go/months/${open.month}/close`), refresh),
        });
      }
    }
    return el('div', { 'data-payg': customerId },
      el('h3', { text: `Pay-as-you-go (${customerId})` }),
      el('p', { class: 'muted', text: 'Usage no contract covers, by calendar month (UTC) at list price; a month closes by itself Billing:PaygGraceDays after its end.' }),
      rows.length ? table(['Invoice', 'Issued', 'Lines', { class: 'num', text: 'Total' }], rows) : el('p', { class: 'muted', text: 'No pay-as-you-go usage.' }),
      close);
  }

  // The customer's webhooks (GET .../webhooks) and their deliveries, newest first (GET .../webhooks/deliveries).
  function webhookBlock(customerId, hooks, deliveries) {
    const counts = c => `${c.pending} pending, ${c.failing} failing, ${c.delivered} delivered, ${c.givenUp} given up`;
    const hookRows = hooks.map(h => el('tr', { 'data-webhook': h.webhookId }, el('td', { text: h.webhookId }), el('td', { text: h.url }),
      el('td', { text: h.kinds.join(', ') }), el('td', { text: counts(h.deliveries) })));
    const deliveryRows = deliveries.map(d => el('tr', { 'data-delivery': d.eventId, 'data-state': d.state },
      el('td', { text: d.eventId }), el('td', { text: d.kind }), el('td', { text: d.webhookId }), el('td', { text: d.state }),
      el('td', { class: 'num', text: String(d.attempts) }), el('td', { text: d.lastAttemptAt ? time(d.lastAttemptAt) : '' }),
      el('td', { text: d.nextAttemptAt ? time(d.nextAttemptAt) : '' }),
      el('td', { text: [d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : '', d.lastError || ''].filter(x => x).join(': ') })));
    return el('div', { 'data-webhooks': customerId },
      el('h3', { text: `Webhooks (${customerId})` }),
      hookRows.length ? table(['Webhook', 'URL', 'Kinds', 'Deliveries'], hookRows) : el('p', { class: 'muted', text: 'No webhooks.' }),
      el('h4', { text: 'Deliveries (newest first)' }),
      deliveryRows.length
        ? table(['Event', 'Kind', 'Webhook', 'State', { class: 'num', text: 'Attempts' }, 'Last attempt', 'Next attempt', 'Last error'], deliveryRows)
        : el('p', { class: 'muted', text: 'No deliveries.' }));
  }

  function invoiceTable(invoices, preview) {
    const rows = invoices.map(i => el('tr', {}, el('td', { text: i.invoiceId }), el('td', { text: time(i.issuedAt) }),
      el('td', { text: i.lines.map(l => `${l.kind} Q${l.quarter} ${usd(l.amountUsd)}`).join('; ') }), el('td', { class: 'num', text: usd(i.totalUsd) })));
    if (preview && preview.invoiceId) {
      rows.push(el('tr', { class: 'muted' }, el('td', { text: 'preview' }), el('td', { text: 'if the open quarter closed now' }),
        el('td', { text: preview.lines.map(l => `${l.kind} Q${l.quarter} ${usd(l.amountUsd)}`).join('; ') }), el('td', { class: 'num', text: usd(preview.totalUsd) })));
    } else if (preview && preview.error) {
      rows.push(el('tr', { class: 'muted' }, el('td', { text: 'preview' }), el('td', { colspan: 3, text: preview.error })));
    }
    return table(['Invoice', 'Issued', 'Lines', { class: 'num', text: 'Total' }], rows);
  }

  // ---- Capacity ---------------------------------------------------------------------------------------------------

  function capacityView(root) {
    const charts = el('div');
    const demand = el('div');
    root.append(panel('GPUs by pool per region', legend(), charts), panel('Desired vs ready, per deployment', demand));

    async function refresh() {
      const [history, deployments] = await Promise.all([api('GET', '/admin/v1/capacity/history'), api('GET', '/admin/v1/deployments')]);
      const samples = history.samples;
      const regions = [...new Set(samples.flatMap(s => s.regions.map(r => r.region)))].sort();
      const blocks = regions.map(region => el('div', { 'data-region': region },
        el('h3', { text: region }),
        stackChart(samples.map(s => ({ at: s.at, a: (s.regions.find(r => r.region === region) || {}).allocation || {} })))));
      const preempted = samples.reduce((sum, s) => sum + s.preemptions, 0);
      const last = samples[samples.length - 1];
      charts.replaceChildren(
        el('p', { class: 'muted', text: samples.length
          ? `${samples.length} samples, one every ${history.sampleSeconds} s, since ${time(samples[0].at)} (kept in this silo's memory since it started).`
          : `No samples yet: the first comes within ${history.sampleSeconds} s of the silo's start.` }),
        ...blocks,
        el('h3', { text: 'Preemptions and spilled demand' }),
        el('p', { text: `${preempted} replicas preempted over the window; spilled demand now ${last ? number(last.spilledTokensPerSecond) : 0} tokens/s.` }),
        lineChart(samples.map(s => ({ at: s.at, preemptions: s.preemptions, spilled: Number(s.spilledTokensPerSecond) }))));
      demand.replaceChildren(table(['Deployment', 'Class', { class: 'num', text: 'Desired' }, { class: 'num', text: 'Ready' }, '', { class: 'num', text: 'Demand tok/s' }, { class: 'num', text: 'Spilled tok/s' }],
        deployments.map(d => el('tr', {}, el('td', { text: d.deploymentId }), el('td', { text: d.class }),
          el('td', { class: 'num', text: d.desiredReplicas }), el('td', { class: 'num', text: d.readyReplicas }),
          el('td', {}, d.readyReplicas < d.desiredReplicas ? el('span', { class: 'badge suspect', text: 'short' }) : el('span', { class: 'badge ready', text: 'ok' })),
          el('td', { class: 'num', text: number(d.demandTokensPerSecond) }), el('td', { class: 'num', text: number(d.spilledTokensPerSecond) })))));
    }

    return Cp.every(refresh);
  }

  const svgNs = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs) {
    const node = document.createElementNS(svgNs, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  }

  /** The chart with its scale above and its first and last sample times below (text outside the stretched SVG). */
  function withAxis(chart, scale, points) {
    const span = points.length ? el('div', { class: 'axis' }, el('span', { text: time(points[0].at) }), el('span', { text: time(points[points.length - 1].at) })) : null;
    return el('div', {}, el('div', { class: 'muted', text: scale }), chart, span);
  }

  /** A stacked area of GPUs by pool over time (one column per sample). */
  function stackChart(points) {
    const w = 800, h = 180;
    const chart = svg('svg', { class: 'chart', viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: 'none' });
    if (points.length === 0) return chart;
    const totals = points.map(p => pools.reduce((s, k) => s + (p.a[k] || 0), 0));
    const max = Math.max(1, ...totals);
    const step = w / Math.max(1, points.length);
    points.forEach((p, i) => {
      let y = h;
      for (const k of pools) {
        const v = p.a[k] || 0;
        if (!v) continue;
        const height = (v / max) * (h - 10);
        y -= height;
        const rect = svg('rect', { x: i * step, y, width: Math.max(1, step), height, fill: poolColor[k].replace(/var\((.*)\)/, (_, n) => getComputedStyle(document.documentElement).getPropertyValue(n)) });
        const title = svg('title', {});
        title.textContent = `${time(p.at)} ${k} ${v}`;
        rect.append(title);
        chart.append(rect);
      }
    });
    return withAxis(chart, `scale: ${max} GPUs at the top`, points);
  }

  /** Preemptions per sample (bars) and spilled demand (line). */
  function lineChart(points) {
    const w = 800, h = 120;
    const chart = svg('svg', { class: 'chart', viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: 'none' });
    chart.style.height = '120px';
    if (points.length === 0) return chart;
    const step = w / Math.max(1, points.length);
    const maxP = Math.max(1, ...points.map(p => p.preemptions));
    const maxS = Math.max(1, ...points.map(p => p.spilled));
    points.forEach((p, i) => {
      if (p.preemptions) chart.append(svg('rect', { x: i * step, y: h - (p.preemptions / maxP) * (h - 10), width: Math.max(1, step * 0.8), height: (p.preemptions / maxP) * (h - 10), fill: '#b42318', opacity: 0.6 }));
    });
    chart.append(svg('polyline', { fill: 'none', stroke: '#2457c5', 'stroke-width': 2, points: points.map((p, i) => `${i * step + step / 2},${h - (p.spilled / maxS) * (h - 10)}`).join(' ') }));
    return withAxis(chart, `red bars: replicas preempted per sample (top: ${maxP}); blue line: spilled tokens/s (top: ${number(maxS)})`, points);
  }

  // ---- Tokens -----------------------------------------------------------------------------------------------------

  function tokensView(root) {
    const out = message();
    const list = el('div');
    const issued = el('div');
    const role = el('select', { name: 'role' }, ['customer', 'gateway', 'operator'].map(r => el('option', { value: r, text: r })));
    const subject = el('input', { name: 'subject', placeholder: 'customer id (for a customer token)' });
    const days = el('input', { name: 'days', type: 'number', min: 1, placeholder: 'default' });
    const form = el('form', {
      class: 'inline',
      onsubmit: async event => {
        event.preventDefault();
        const body = { role: role.value };
        if (subject.value.trim()) body.subject = subject.value.trim();
        if (days.value) body.expiresInSeconds = Number(days.value) * 86400;
        try {
          const t = await api('POST', '/admin/v1/tokens', body);
          out.textContent = '';
          issued.replaceChildren(el('p', { class: 'notice', text: `Issued ${t.role} token for ${t.subject}, expires ${time(t.expiresAt)}. Copy it now: it is not shown again.` }), el('pre', { id: 'issued-token', text: t.token }));
        } catch (e) {
          out.textContent = e.message;
        }
        await refresh();
      },
    }, el('label', {}, 'Role', role), el('label', {}, 'Subject', subject), el('label', {}, 'Expires in days', days), el('button', { class: 'action primary', type: 'submit', text: 'Issue token' }));
    root.append(out, panel('Issue a token', form, issued), panel('Issued tokens', list));

    async function refresh() {
      const tokens = await api('GET', '/admin/v1/tokens');
      list.replaceChildren(table(['Token id', 'Role', 'Subject', 'Issued by', 'Issued', 'Expires', 'State', ''],
        tokens.map(t => el('tr', { 'data-token': t.tokenId },
          el('td', { text: t.tokenId }), el('td', { text: t.role }), el('td', { text: t.subject }), el('td', { text: t.issuedBy }),
          el('td', { text: time(t.issuedAt) }), el('td', { text: time(t.expiresAt) }),
          el('td', { text: t.revokedAt ? `revoked ${time(t.revokedAt)}` : t.state }),
          el('td', {}, t.revokedAt ? null : el('button', {
            class: 'action danger', text: 'Revoke',
            onclick: () => act(out, `Revoke token ${t.tokenId} (${t.role} ${t.subject})? Every call with it is refused from now on.`, 'Revoke',
              () => api('DELETE', `/admin/v1/tokens/${t.tokenId}`), refresh),
          }))))));
    }

    return Cp.every(refresh);
  }
})();
