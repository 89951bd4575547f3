// machine dashboard: plain script, no framework, no build. Every value from the server is put
// into the page with textContent (never as HTML). The token travels in an HttpOnly cookie the
// server set on first load; this script never sees it.
'use strict'

const $ = (sel) => document.querySelector(sel)
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(e.dataset, v)
    else if (k.startsWith('aria-') || !(k in e)) e.setAttribute(k, v)
    else e[k] = v
  }
  for (const c of children) e.append(c)
  return e
}

/** A call to the dashboard's API: JSON in, JSON out; a refusal becomes an Error with the server's words. */
async function api(path, o = {}) {
  const res = await fetch(path, {
    method: o.method ?? 'GET',
    headers: o.body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
    credentials: 'same-origin',
  })
  const data = await res.json().catch(() => ({}))
  if (!res.ok && !(o.accept ?? []).includes(res.status)) {
    const e = new Error(data.error ? `${data.error}${data.hint ? `: ${data.hint}` : ''}` : `HTTP ${res.status}`)
    e.status = res.status
    throw e
  }
  return { status: res.status, data }
}

// ---- machines, live ---------------------------------------------------------------------

const machines = new Map()

function stateCell(state) {
  return el('span', { className: 'state', dataset: { state: state || 'unknown' } }, state || '—')
}

function machineRow(m, flash) {
  const tr = el('tr', { dataset: { machine: m.name } })
  if (flash) tr.className = 'changed'
  tr.append(
    el('th', { scope: 'row' }, el('a', { href: `#/machines/${encodeURIComponent(m.name)}` }, m.name)),
    // No state yet: listed from the saved configs, the first probe round still running.
    el('td', { dataset: { field: 'state' } }, m.state ? stateCell(m.state) : el('span', { className: 'muted' }, 'checking…')),
    el('td', { dataset: { field: 'driver' } }, m.driver),
    el('td', { dataset: { field: 'url' } }, m.url),
    el('td', { dataset: { field: 'engine' } }, m.engineVersion),
    el('td', { dataset: { field: 'swarm' } }, m.swarm ? `${m.swarmRole} of ${m.swarm.replace(/ \(master\)$/, '')}` : ''),
    el('td', { dataset: { field: 'error' }, className: 'problem' }, m.error),
  )
  return tr
}

function renderList(changedNames = new Set()) {
  const body = $('#machines tbody')
  const rows = [...machines.values()].sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }))
  // Keep focus where it was across a re-render (a keyboard user on a row's link).
  const focused = document.activeElement?.closest?.('tr')?.dataset.machine
  body.replaceChildren(...rows.map((m) => machineRow(m, changedNames.has(m.name))))
  if (focused) body.querySelector(`tr[data-machine="${CSS.escape(focused)}"] a`)?.focus()
  $('#empty').hidden = rows.length > 0
  if (current.view === 'machine') renderMachineHeader()
}

function connectEvents() {
  const live = $('#live')
  const es = new EventSource('/api/events')
  es.addEventListener('open', () => {
    live.textContent = 'live'
    live.classList.add('on')
  })
  es.addEventListener('error', () => {
    live.textContent = 'reconnecting…'
    live.classList.remove('on')
  })
  es.addEventListener('snapshot', (ev) => {
    machines.clear()
    for (const m of JSON.parse(ev.data).machines) machines.set(m.name, m)
    document.body.dataset.loaded = 'true'
    renderList()
  })
  es.addEventListener('fleet', (ev) => {
    const c = JSON.parse(ev.data)
    for (const m of c.changed) machines.set(m.name, m)
    for (const n of c.removed) machines.delete(n)
    renderList(new Set(c.changed.map((m) => m.name)))
  })
}

// ---- views ------------------------------------------------------------------------------

const current = { view: 'list', machine: '' }
let logStream
let containerTimer

function show(view) {
  current.view = view
  for (const v of ['list', 'machine', 'create']) $(`#view-${v}`).hidden = v !== view
  for (const v of ['list', 'create']) {
    if (v === view) $(`#nav-${v}`).setAttribute('aria-current', 'page')
    else $(`#nav-${v}`).removeAttribute('aria-current')
  }
}

function route() {
  logStream?.close()
  clearInterval(containerTimer)
  const h = decodeURIComponent(location.hash.replace(/^#/, ''))
  const m = /^\/machines\/(.+)$/.exec(h)
  if (m) return openMachine(m[1])
  if (h === '/create') return openCreate()
  show('list')
  document.title = 'machine dashboard'
}

// ---- one machine ------------------------------------------------------------------------

function renderMachineHeader() {
  const m = machines.get(current.machine)
  $('#m-title').textContent = current.machine
  $('#m-summary').replaceChildren(
    ...(m
      ? [stateCell(m.state), ` · ${m.driver} · ${m.url || 'no address'}${m.engineVersion ? ` · Docker ${m.engineVersion}` : ''}${m.swarm ? ` · swarm ${m.swarmRole}` : ''}`]
      : ['This machine is not in the store (any more).']),
  )
}

async function openMachine(name) {
  current.machine = name
  show('machine')
  document.title = `${name} · machine dashboard`
  renderMachineHeader()
  $('#logs-box').hidden = true
  $('#env-eval').textContent = ''
  $('#env-script').textContent = ''
  // Only what the machine's driver can do is offered (a none machine has no start or stop).
  for (const b of document.querySelectorAll('#view-machine [data-op]')) b.disabled = true
  api(`/api/machines/${encodeURIComponent(name)}/operations`).then(({ data }) => {
    for (const b of document.querySelectorAll('#view-machine [data-op]')) {
      b.disabled = !data.operations.includes(b.dataset.op)
      b.title = b.disabled ? `The ${machines.get(name)?.driver ?? ''} driver cannot do this` : ''
    }
  }, () => {})
  api(`/api/machines/${encodeURIComponent(name)}/env`).then(
    ({ data }) => {
      $('#env-eval').textContent = data.eval
      $('#env-script').textContent = data.script
    },
    (e) => ($('#env-eval').textContent = e.message),
  )
  await loadContainers()
  containerTimer = setInterval(loadContainers, 5000)
}

async function loadContainers() {
  const name = current.machine
  const body = $('#containers tbody')
  try {
    const { data } = await api(`/api/machines/${encodeURIComponent(name)}/containers`)
    if (current.machine !== name) return
    $('#c-problem').hidden = true
    body.replaceChildren(...data.containers.map(containerRow))
    $('#c-empty').hidden = data.containers.length > 0
  } catch (e) {
    $('#c-problem').textContent = e.message
    $('#c-problem').hidden = false
    body.replaceChildren()
    $('#c-empty').hidden = true
  }
}

function containerRow(c) {
  const ref = c.id
  const act = (label, op, extra = {}) => el('button', { type: 'button', onclick: () => containerOp(c, op), ...extra }, label)
  return el(
    'tr',
    { dataset: { container: c.name } },
    el('th', { scope: 'row' }, c.name),
    el('td', {}, c.image),
    el('td', { dataset: { field: 'state' } }, stateCell(c.state)),
    el('td', {}, c.status),
    el('td', {}, c.ports),
    el(
      'td',
      {},
      el('div', { className: 'actions' },
        el('button', { type: 'button', onclick: () => openLogs(c), 'aria-label': `Logs of ${c.name}` }, 'Logs'),
        c.state === 'running' ? act('Stop', 'stop', { 'aria-label': `Stop ${c.name}` }) : act('Start', 'start', { 'aria-label': `Start ${c.name}` }),
        el('button', { type: 'button', className: 'danger', 'aria-label': `Remove ${c.name}`, onclick: async () => { if (await confirmRemove(`Remove container ${c.name} (${ref.slice(0, 12)}) from ${current.machine}? A running one is stopped first.`, `Remove ${c.name}`)) containerOp(c, 'remove') } }, 'Remove…'),
      ),
    ),
  )
}

async function containerOp(c, op) {
  try {
    await api(`/api/machines/${encodeURIComponent(current.machine)}/containers/${encodeURIComponent(c.id)}/${op}`, { method: 'POST', body: {} })
  } catch (e) {
    $('#c-problem').textContent = e.message
    $('#c-problem').hidden = false
  }
  await loadContainers()
}

function openLogs(c) {
  logStream?.close()
  const pre = $('#logs')
  pre.replaceChildren()
  $('#logs-title').textContent = `Logs of ${c.name}`
  $('#logs-box').hidden = false
  logStream = new EventSource(`/api/machines/${encodeURIComponent(current.machine)}/containers/${encodeURIComponent(c.id)}/logs?tail=200`)
  const add = (text, cls) => {
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4
    pre.append(el('span', cls ? { className: cls } : {}, `${text}\n`))
    if (atEnd) pre.scrollTop = pre.scrollHeight
  }
  logStream.addEventListener('line', (ev) => {
    const d = JSON.parse(ev.data)
    add(d.line, d.stream === 'stderr' ? 'stderr' : '')
  })
  logStream.addEventListener('failed', (ev) => {
    add(JSON.parse(ev.data).error, 'stderr')
    logStream.close()
  })
  logStream.addEventListener('end', () => logStream.close())
  pre.focus()
}

// ---- operations: a job whose lines stream in ----------------------------------------------

function followJob(id, { log, result, onDone }) {
  log.replaceChildren()
  result.textContent = 'Running…'
  result.className = ''
  const es = new EventSource(`/api/jobs/${id}/events`)
  es.addEventListener('line', (ev) => {
    log.append(`${JSON.parse(ev.data).line}\n`)
    log.scrollTop = log.scrollHeight
  })
  es.addEventListener('done', (ev) => {
    es.close()
    const d = JSON.parse(ev.data)
    result.textContent = d.ok ? 'Done.' : `Failed: ${d.error}${d.hint ? ` (${d.hint})` : ''}`
    result.className = d.ok ? 'ok' : 'error'
    onDone?.(d)
  })
}

async function machineOp(op) {
  const name = current.machine
  let body = {}
  if (op === 'remove') {
    if (!(await confirmRemove(`Remove machine ${name}? This deletes the host and everything its driver made, then its local entry.`, `Remove ${name}`))) return
    body = { confirm: name }
  }
  $('#job').hidden = false
  $('#job-title').textContent = `${op} ${name}`
  const log = $('#job-log')
  const result = $('#job-result')
  try {
    const { data } = await api(`/api/machines/${encodeURIComponent(name)}/${op}`, { method: 'POST', body })
    followJob(data.job, { log, result, onDone: (d) => { if (op === 'remove' && d.ok) location.hash = '#/' } })
  } catch (e) {
    log.replaceChildren()
    result.textContent = `Failed: ${e.message}`
    result.className = 'error'
  }
}

/** The confirmation dialog (a real modal: focus stays inside, Esc cancels); resolves true on "Remove". */
function confirmRemove(text, okLabel) {
  const d = $('#confirm')
  $('#confirm-text').textContent = text
  $('#confirm-ok').textContent = okLabel
  d.returnValue = 'cancel'
  d.showModal()
  $('#confirm-cancel').focus()
  return new Promise((resolve) => d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true }))
}

// ---- create: the form comes from the drivers' option declarations ---------------------------

let drivers = []

function fieldFor(f) {
  const id = `f-${f.flag}`
  const describedBy = `help-${f.flag} err-${f.flag}`
  const help = el('span', { className: 'help', id: `help-${f.flag}` }, f.help)
  const err = el('span', { className: 'error', id: `err-${f.flag}`, role: 'alert' })
  let input
  if (f.type === 'boolean') {
    input = el('input', { type: 'checkbox', id, name: f.flag, 'aria-describedby': describedBy })
    if (f.default === true) input.checked = true
    return el('div', { className: 'field check' }, input, el('label', { htmlFor: id }, `--${f.flag}`), help, err)
  }
  if (f.choices) {
    input = el('select', { id, name: f.flag, 'aria-describedby': describedBy }, el('option', { value: '' }, f.default !== undefined ? `default (${f.default})` : '—'), ...f.choices.map((c) => el('option', { value: c }, c)))
  } else if (f.type === 'string[]') {
    input = el('textarea', { id, name: f.flag, rows: 2, 'aria-describedby': describedBy, placeholder: 'one per line' })
  } else {
    input = el('input', { id, name: f.flag, type: f.secret ? 'password' : 'text', inputMode: f.type === 'int' ? 'numeric' : 'text', autocomplete: 'off', 'aria-describedby': describedBy })
    if (f.default !== undefined) input.placeholder = String(f.default)
  }
  if (f.required) input.required = true
  return el('div', { className: 'field' }, el('label', { htmlFor: id }, `--${f.flag}${f.required ? ' (required)' : ''}`), input, help, err)
}

function renderDriverFields() {
  const d = drivers.find((x) => x.name === $('#f-driver').value)
  const box = $('#driver-fields')
  box.replaceChildren(el('legend', {}, `${d?.name ?? ''} driver options`), ...(d?.fields ?? []).map(fieldFor))
  $('#driver-help').textContent = d?.description ?? ''
}

async function openCreate() {
  show('create')
  document.title = 'New machine · machine dashboard'
  if (!drivers.length) {
    const { data } = await api('/api/drivers')
    drivers = data.drivers
    const sel = $('#f-driver')
    sel.replaceChildren(...drivers.map((d) => el('option', { value: d.name }, d.name)))
    sel.value = drivers.some((d) => d.name === 'qemu') ? 'qemu' : drivers[0]?.name ?? ''
    renderDriverFields()
  }
  $('#f-name').focus()
}

function clearErrors() {
  for (const e of document.querySelectorAll('#create-form .error')) e.textContent = ''
  for (const i of document.querySelectorAll('#create-form [aria-invalid]')) i.removeAttribute('aria-invalid')
}

async function submitCreate(ev) {
  ev.preventDefault()
  clearErrors()
  const form = $('#create-form')
  const options = {}
  for (const i of form.querySelectorAll('#driver-fields [name]')) {
    if (i.type === 'checkbox') options[i.name] = i.checked
    else if (i.value !== '') options[i.name] = i.value
  }
  const button = $('#create-submit')
  button.disabled = true
  try {
    const { status, data } = await api('/api/machines', { method: 'POST', body: { name: $('#f-name').value, driver: $('#f-driver').value, options }, accept: [400] })
    if (status === 400) {
      let first
      for (const [field, message] of Object.entries(data.errors ?? {})) {
        const err = document.getElementById(`err-${field}`) ?? $('#err-form')
        err.textContent = message
        const input = field === 'name' ? $('#f-name') : field === 'driver' ? $('#f-driver') : document.getElementById(`f-${field}`)
        input?.setAttribute('aria-invalid', 'true')
        first ??= input
      }
      first?.focus()
      return
    }
    const name = $('#f-name').value
    $('#job').hidden = false
    $('#job-title').textContent = `create ${name}`
    followJob(data.job, { log: $('#job-log'), result: $('#job-result'), onDone: (d) => { if (d.ok) { $('#job-result').append(' ', el('a', { href: `#/machines/${encodeURIComponent(name)}` }, `Open ${name}`)); form.reset(); renderDriverFields() } } })
  } catch (e) {
    $('#err-form').textContent = e.message
  } finally {
    button.disabled = false
  }
}

// ---- start ------------------------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  for (const b of document.querySelectorAll('#view-machine [data-op]')) b.addEventListener('click', () => machineOp(b.dataset.op))
  $('#env-copy').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('#env-eval').textContent)
      $('#env-copy').textContent = 'Copied'
    } catch {
      // No clipboard (an insecure context, a denied permission): select the line for Ctrl-C instead.
      getSelection().selectAllChildren($('#env-eval'))
    }
    setTimeout(() => ($('#env-copy').textContent = 'Copy'), 1500)
  })
  $('#f-driver').addEventListener('change', renderDriverFields)
  $('#create-form').addEventListener('submit', submitCreate)
  addEventListener('hashchange', route)
  connectEvents()
  route()
})
