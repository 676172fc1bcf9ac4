#!/usr/bin/env node
/*
 * check-ecs.js: check fimscan's ECS documents against the field
 * definitions of ECS 9.4 (the npm package @elastic/ecs, which exports
 * EcsFlat: every field of generated/ecs/ecs_flat.yml).
 *
 *   node check-ecs.js extract PREFIX OUT.json
 *       PREFIX is an `npm install --prefix PREFIX @elastic/ecs@9.4.0`;
 *       writes the definitions (name -> type, normalize, allowed values)
 *       to OUT.json, so that later runs need neither npm nor the network.
 *   node check-ecs.js check FIELDS.json FILE.ndjson [--namespace NS]
 *       [--count N]
 *       FILE.ndjson: one document per line, each line ending in "\n".
 *
 * `check` fails (exit 1, one line per problem) unless, for every document:
 *   - every field outside the fimscan.* subtree (flattened to its dotted
 *     name; arrays of objects are nested fields) exists in ECS 9.4, with a
 *     value of a compatible JSON type: keyword, constant_keyword, wildcard
 *     and text are strings, long and friends integers, date an ISO 8601
 *     string, boolean a boolean; arrays of such values are fine, and the
 *     fields ECS normalizes to arrays (event.type, event.category) are
 *     arrays; values are among ECS's allowed values where it lists them;
 *   - the fields every event must have are there (elastic.md);
 *   - event.type is the sorted set of the types of event.action's actions
 *     (Auditbeat's action.go table);
 *   - data_stream.type is "logs", data_stream.dataset equals
 *     event.dataset ("fimscan.events"), the namespace is valid (and is NS);
 *   - ecs.version is "9.4.0", event.id is 40 hex digits and unique.
 */
'use strict';

const fs = require('fs');
const path = require('path');

const ECS_VERSION = '9.4.0';

function die(msg) {
  process.stderr.write('check-ecs: ' + msg + '\n');
  process.exit(1);
}

function extract(prefix, out) {
  const dir = path.resolve(prefix, 'node_modules', '@elastic', 'ecs');
  let pkg, ecs;
  try {
    pkg = require(path.join(dir, 'package.json'));
    ecs = require(dir);
  } catch (e) {
    die('cannot load @elastic/ecs from ' + dir + ': ' + e.message);
  }
  if (pkg.version !== ECS_VERSION)
    die('@elastic/ecs is ' + pkg.version + ', not ' + ECS_VERSION);
  if (!ecs.EcsFlat)
    die('@elastic/ecs does not export EcsFlat');
  const fields = {};
  for (const [name, f] of Object.entries(ecs.EcsFlat)) {
    fields[name] = {
      type: f.type,
      normalize: f.normalize || [],
      allowed: f.allowed_values ? f.allowed_values.map((v) => v.name) : null,
    };
  }
  const n = Object.keys(fields).length;
  /* 2,605 in 9.4.0: far fewer means a broken package. */
  if (n < 2000)
    die('only ' + n + ' fields in EcsFlat');
  fs.writeFileSync(out + '.tmp', JSON.stringify({ version: pkg.version, fields }));
  fs.renameSync(out + '.tmp', out);
  process.stdout.write('extracted ' + n + ' ECS ' + pkg.version + ' fields\n');
}

/* Auditbeat's action -> event.type (action.go). */
const ACTION_TYPE = {
  created: 'creation', deleted: 'deletion', updated: 'change',
  attributes_modified: 'change', moved: 'change', initial_scan: 'info',
};

const REQUIRED = [
  '@timestamp', 'ecs.version', 'event.kind', 'event.category', 'event.type',
  'event.action', 'event.module', 'event.dataset', 'file.path', 'host.name',
  'data_stream.type', 'data_stream.dataset', 'data_stream.namespace',
];

const STRING_TYPES = new Set(['keyword', 'constant_keyword', 'wildcard', 'text',
  'match_only_text', 'ip', 'version']);
const INTEGER_TYPES = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);
const FLOAT_TYPES = new Set(['float', 'double', 'half_float', 'scaled_float']);
const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;

/* Leaves of a document as [dotted name, value]; arrays of objects nest. */
function flatten(obj, prefix, out, bad) {
  for (const [k, v] of Object.entries(obj)) {
    if (k.includes('.'))
      bad('dotted key "' + prefix + k + '": documents nest objects');
    const name = prefix + k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      flatten(v, name + '.', out, bad);
    } else if (Array.isArray(v) && v.length && v.every((x) => x !== null &&
               typeof x === 'object' && !Array.isArray(x))) {
      for (const x of v)
        flatten(x, name + '.', out, bad);
    } else {
      out.push([name, v]);
    }
  }
  return out;
}

function compatible(type, v) {
  if (STRING_TYPES.has(type))
    return typeof v === 'string';
  if (INTEGER_TYPES.has(type))
    return Number.isInteger(v);
  if (FLOAT_TYPES.has(type))
    return typeof v === 'number';
  if (type === 'date')
    return typeof v === 'string' && ISO_DATE.test(v) && !isNaN(Date.parse(v));
  if (type === 'boolean')
    return typeof v === 'boolean';
  return false;   /* object, nested, flattened, geo_point...: not as a leaf */
}

function get(doc, name) {
  let d = doc;
  for (const k of name.split('.')) {
    if (d === null || typeof d !== 'object' || !(k in d))
      return undefined;
    d = d[k];
  }
  return d;
}

function check(fieldsFile, ndjson, opts) {
  const defs = JSON.parse(fs.readFileSync(fieldsFile, 'utf8'));
  if (defs.version !== ECS_VERSION)
    die(fieldsFile + ' holds ECS ' + defs.version + ', not ' + ECS_VERSION);
  const F = defs.fields;
  const raw = fs.readFileSync(ndjson, 'utf8');
  const problems = [];
  const seenFields = new Set();
  const ids = new Set();
  if (raw.length && !raw.endsWith('\n'))
    problems.push('the last line does not end in a newline');
  const lines = raw.length ? raw.slice(0, -1).split('\n') : [];
  lines.forEach((line, i) => {
    const where = 'line ' + (i + 1) + ': ';
    const bad = (msg) => problems.push(where + msg);
    let doc;
    try {
      doc = JSON.parse(line);
    } catch (e) {
      bad('not JSON: ' + e.message);
      return;
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
      bad('not an object');
      return;
    }
    const leaves = flatten(doc, '', [], bad);
    for (const [name, value] of leaves) {
      if (name === 'fimscan' || name.startsWith('fimscan.'))
        continue;
      const def = F[name];
      if (!def) {
        bad(name + ': no such field in ECS ' + ECS_VERSION);
        continue;
      }
      seenFields.add(name);
      const values = Array.isArray(value) ? value : [value];
      if (def.normalize.includes('array') && !Array.isArray(value))
        bad(name + ': ECS expects an array');
      for (const v of values) {
        if (!compatible(def.type, v))
          bad(name + ': ' + JSON.stringify(v) + ' is not a ' + def.type);
        else if (def.allowed && !def.allowed.includes(v))
          bad(name + ': ' + JSON.stringify(v) + ' is not one of ' + def.allowed.join(', '));
      }
    }
    for (const name of REQUIRED)
      if (get(doc, name) === undefined)
        bad('missing ' + name);
    if (get(doc, 'ecs.version') !== ECS_VERSION)
      bad('ecs.version is ' + JSON.stringify(get(doc, 'ecs.version')));
    if (get(doc, 'event.kind') !== 'event')
      bad('event.kind is not "event"');
    const cat = get(doc, 'event.category');
    if (!Array.isArray(cat) || cat.length !== 1 || cat[0] !== 'file')
      bad('event.category is not ["file"]');
    /* event.type: the sorted set of the actions' types. */
    let actions = get(doc, 'event.action');
    const types = get(doc, 'event.type');
    if (!Array.isArray(actions))
      actions = [actions];
    const want = [...new Set(actions.map((a) => ACTION_TYPE[a]))].sort();
    for (const a of actions)
      if (!(a in ACTION_TYPE))
        bad('unknown event.action ' + JSON.stringify(a));
    if (JSON.stringify(types) !== JSON.stringify(want))
      bad('event.type ' + JSON.stringify(types) + ' does not match event.action ' +
          JSON.stringify(actions) + ' (want ' + JSON.stringify(want) + ')');
    /* The data stream the document would go to. */
    const ds = get(doc, 'data_stream') || {};
    if (ds.type !== 'logs')
      bad('data_stream.type is ' + JSON.stringify(ds.type));
    if (ds.dataset !== 'fimscan.events' || get(doc, 'event.dataset') !== ds.dataset)
      bad('data_stream.dataset ' + JSON.stringify(ds.dataset) + ' and event.dataset ' +
          JSON.stringify(get(doc, 'event.dataset')) + ' differ from "fimscan.events"');
    if (typeof ds.namespace !== 'string' || !/^[a-z0-9_]{1,100}$/.test(ds.namespace))
      bad('invalid data_stream.namespace ' + JSON.stringify(ds.namespace));
    if (opts.namespace !== undefined && ds.namespace !== opts.namespace)
      bad('data_stream.namespace is ' + JSON.stringify(ds.namespace) + ', not ' +
          JSON.stringify(opts.namespace));
    if (get(doc, 'event.module') !== 'fimscan')
      bad('event.module is not "fimscan"');
    const id = get(doc, 'event.id');
    if (typeof id !== 'string' || !/^[0-9a-f]{40}$/.test(id))
      bad('event.id ' + JSON.stringify(id) + ' is not 40 hex digits');
    else if (ids.has(id))
      bad('event.id ' + id + ' is not unique');
    ids.add(id);
  });
  if (opts.count !== undefined && lines.length !== opts.count)
    problems.push(lines.length + ' documents, expected ' + opts.count);
  if (problems.length) {
    for (const p of problems.slice(0, 50))
      process.stderr.write('check-ecs: ' + ndjson + ': ' + p + '\n');
    if (problems.length > 50)
      process.stderr.write('check-ecs: ... ' + (problems.length - 50) + ' more\n');
    process.exit(1);
  }
  process.stdout.write('ok: ' + lines.length + ' documents, ' + seenFields.size +
                       ' ECS fields: ' + [...seenFields].sort().join(' ') + '\n');
}

const argv = process.argv.slice(2);
if (argv[0] === 'extract' && argv.length === 3) {
  extract(argv[1], argv[2]);
} else if (argv[0] === 'check' && argv.length >= 3) {
  const opts = {};
  for (let i = 3; i < argv.length; i += 2) {
    if (argv[i] === '--namespace')
      opts.namespace = argv[i + 1];
    else if (argv[i] === '--count')
      opts.count = Number(argv[i + 1]);
    else
      die('unknown option ' + argv[i]);
  }
  check(argv[1], argv[2], opts);
} else {
  die('usage: check-ecs.js extract PREFIX OUT.json | ' +
      'check FIELDS.json FILE.ndjson [--namespace NS] [--count N]');
}
