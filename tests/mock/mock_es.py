#!/usr/bin/env python3
"""mock_es.py: a mock Elasticsearch and Kibana for fimscan's shipping tests.

Python 3 standard library only. It enforces the contract of
../shared/reference/elastic.md the way a real cluster does, so that what
passes here passes there:

  GET  /                              cluster info, X-Elastic-Product
  PUT  /_component_template/NAME      stored, {"acknowledged": true}
  PUT  /_index_template/NAME          checked (patterns, data_stream,
                                      composed_of components exist)
  POST /_bulk, /INDEX/_bulk           Content-Type application/x-ndjson,
                                      optional gzip, body ends with "\\n",
                                      action/document pairs, create-only for
                                      data streams, duplicate _id -> 409,
                                      data_stream.* and event.dataset equal
                                      to the stream's name parts, @timestamp,
                                      filter_path, http.max_content_length
  POST /api/saved_objects/_import     Kibana: kbn-xsrf, multipart part
                                      "file" named *.ndjson, validated by
                                      tests/dashboard/validate.py, the real
                                      answer shape; ?overwrite=true

Authentication (--api-key, --basic) applies to every route but /_mock/*.

Faults, for the next _bulk requests in order (POST /_mock/faults with a
JSON list; each fault may say "times": N):
  {"status": 429|413|503|401|500, "retry_after": "1"}   whole request
  {"items": {"0": 429, "5": 400}}     item statuses by position
  {"item_mod": [K, R, STATUS]}        items with position % K == R
  {"drop": "before"|"after"}          close without answering, before or
                                      after storing the documents
  {"slow": SECONDS}                   store, then wait before answering
  {"trickle": SECONDS}                answer one byte every SECONDS
  {"truncate": true}                  store, then answer half the JSON
  {"huge": BYTES}                     store, then answer BYTES of JSON
  {"redirect": URL}                   307 to URL
Persistent rule: --reject-path REGEX (or POST /_mock/config
{"reject_path": REGEX}): such documents get item 400.

Durability: with --docs-file FILE, each stored document is appended to
FILE ("index TAB _id TAB document") before it is acknowledged, and FILE
is loaded at start: a mock killed and started again (--port, the same
file) answers 409 for what it had, as a restarted cluster does.

Inspection: GET /_mock/stats (slow_waiting: requests stored and not yet
answered), /_mock/docs (NDJSON "_index _id doc"), /_mock/history,
/_mock/templates, /_mock/kibana; POST /_mock/reset, /_mock/faults/clear.

Readiness: the port is written to --ready-file (atomically) once the
server listens; tests wait for the file, never sleep.

Client mode for tests: mock_es.py ctl PORT METHOD PATH [JSON] prints the
answer's body (exit 1 on a non-2xx status).
"""

import argparse
import base64
import gzip
import http.client
import http.server
import json
import os
import re
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse
import urllib.request
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "dashboard"))

# What a stock cluster ships; logs@custom is left for users to create.
BUILTIN_COMPONENTS = {"logs@mappings", "logs@settings", "ecs@mappings"}
DATA_STREAM_RE = re.compile(r"^(logs|metrics|traces|synthetics)-([^-]+)-([^-]+)$")


def es_error(status, etype, reason, **extra):
    err = {"root_cause": [{"type": etype, "reason": reason}],
           "type": etype, "reason": reason}
    err.update(extra)
    return {"error": err, "status": status}


def filter_doc(doc, patterns):
    """ES filter_path: dotted paths with '*' wildcards, applied together:
    a value is kept if any path reaches it; array elements and objects
    that keep nothing are left out (as Elasticsearch does)."""
    def keep(node, pats):
        if any(not p for p in pats):
            return node, True
        if isinstance(node, list):
            out = []
            for el in node:
                v, ok = keep(el, pats)
                if ok:
                    out.append(v)
            return out, bool(out)
        if not isinstance(node, dict):
            return None, False
        out = {}
        for k, v in node.items():
            sub = [p[1:] for p in pats if p[0] in ("*", k)]
            if sub:
                fv, ok = keep(v, sub)
                if ok:
                    out[k] = fv
        return out, bool(out)

    v, ok = keep(doc, [p.split(".") for p in patterns if p])
    return v if ok else {}


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.docs_file = None
        self.reset()
        self.reject_path = re.compile(args.reject_path) if args.reject_path else None
        if args.docs_file:
            self.load_docs(args.docs_file)

    def load_docs(self, path):
        if os.path.exists(path):
            with open(path, "rb") as f:
                for rec in f:
                    # a record cut short by a kill was never acknowledged
                    if not rec.endswith(b"\n") or rec.count(b"\t") < 2:
                        continue
                    index, _id, line = rec[:-1].split(b"\t", 2)
                    self.docs.setdefault(index.decode(), {})[_id.decode()] = line
        self.docs_file = open(path, "ab")

    def keep_doc(self, index, _id, line):
        if self.docs_file:
            self.docs_file.write(b"%s\t%s\t%s\n" % (index.encode(), str(_id).encode(), line))
            self.docs_file.flush()

    def reset(self):
        self.docs = {}            # index -> {id: doc line}
        if self.docs_file:
            self.docs_file.truncate(0)
        self.faults = []
        self.history = []
        self.components = {}
        self.index_templates = {}
        self.kibana = {}          # "type:id" -> object
        self.stats = {"requests": 0, "bulk_requests": 0, "statuses": {},
                      "items": {}, "violations": [], "dotted_keys": 0,
                      "gzip_requests": 0, "auth_failures": 0,
                      "imports": 0, "slow_waiting": 0}

    def stream_of(self, index, cache={}):
        m = cache.get(index)
        if m is None:
            m = cache[index] = DATA_STREAM_RE.match(index) or False
        return m or None

    def violation(self, what):
        if len(self.stats["violations"]) < 1000:
            self.stats["violations"].append(what)

    def next_fault(self):
        with self.lock:
            if not self.faults:
                return {}
            f = self.faults[0]
            n = f.get("times", 1) - 1
            if n <= 0:
                self.faults.pop(0)
            else:
                f["times"] = n
            return dict(f)


# A '.' in a key: in JSON only a key's closing quote is followed by ':',
# and [^"\\]* cannot run past a string's end, so this finds exactly the
# keys with a dot (keys with escaped quotes aside).
DOTTED_KEY = re.compile(rb'\.[^"\\]*"\s*:')


def parse_doc(line):
    """The document, and whether any of its keys has a '.' in it
    (documents should nest objects, not use dotted keys)."""
    return json.loads(line), DOTTED_KEY.search(line) is not None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately: without this, Nagle and
    # the client's delayed ACK add 40 ms to every answer.
    disable_nagle_algorithm = True
    server_version = "mock-es/1"
    sys_version = ""

    def log_message(self, fmt, *a):   # quiet unless --verbose
        if self.server.state.args.verbose:
            sys.stderr.write("mock_es: " + fmt % a + "\n")

    # ---- plumbing ---------------------------------------------------------

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, obj=None, raw=None, headers=None, ctype="application/json"):
        body = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else b"")
        hdrs = dict(headers or {})
        if ("gzip" in self.headers.get("Accept-Encoding", "") and len(body) > 256
                and raw is None):
            body = gzip.compress(body, 1)
            hdrs["Content-Encoding"] = "gzip"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Elastic-Product", "Elasticsearch")
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        st = self.server.state
        with st.lock:
            st.stats["statuses"][str(status)] = st.stats["statuses"].get(str(status), 0) + 1

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def authorized(self):
        a = self.server.state.args
        if not a.api_key and not a.basic:
            return True
        got = self.headers.get("Authorization", "")
        ok = set()
        for k in a.api_key or []:
            enc = base64.b64encode(k.encode()).decode() if ":" in k else k
            ok.add("ApiKey " + enc)
        for b in a.basic or []:
            ok.add("Basic " + base64.b64encode(b.encode()).decode())
        if got in ok:
            return True
        st = self.server.state
        with st.lock:
            st.stats["auth_failures"] += 1
        reason = ("unable to authenticate with provided credentials" if got
                  else "missing authentication credentials for REST request [%s]" % self.path)
        self.send(401, es_error(401, "security_exception", reason,
                                header={"WWW-Authenticate": ["ApiKey", "Basic realm=\"security\""]}),
                  headers={"WWW-Authenticate": "ApiKey"})
        return False

    def record(self, **kw):
        st = self.server.state
        kw.update(method=self.command, path=self.path, time=time.time())
        with st.lock:
            st.stats["requests"] += 1
            if len(st.history) < 100000:
                st.history.append(kw)

    # ---- routes -----------------------------------------------------------

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path.startswith("/_mock/"):
            return self.mock_get(u)
        body = self.read_body()
        del body
        if not self.authorized():
            return
        self.record()
        if u.path == "/":
            return self.send(200, {"name": "mock", "cluster_name": "mock",
                                   "cluster_uuid": "mock-uuid",
                                   "version": {"number": "9.4.0", "build_flavor": "default",
                                               "lucene_version": "10.2.0"},
                                   "tagline": "You Know, for Search"})
        self.send(404, es_error(404, "resource_not_found_exception", "no route"))

    def do_PUT(self):
        u = urllib.parse.urlsplit(self.path)
        body = self.read_body()
        if not self.authorized():
            return
        self.record()
        st = self.server.state
        try:
            doc = json.loads(body)
            assert isinstance(doc, dict)
        except Exception:
            return self.send(400, es_error(400, "parse_exception", "request body is required to be a JSON object"))
        m = re.match(r"^/_component_template/([^/]+)$", u.path)
        if m:
            if not isinstance(doc.get("template"), dict):
                return self.send(400, es_error(400, "action_request_validation_exception",
                                               "Validation Failed: 1: template is missing;"))
            with st.lock:
                st.components[m.group(1)] = doc
            return self.send(200, {"acknowledged": True})
        m = re.match(r"^/_index_template/([^/]+)$", u.path)
        if m:
            pats = doc.get("index_patterns")
            if not isinstance(pats, list) or not pats:
                return self.send(400, es_error(400, "action_request_validation_exception",
                                               "Validation Failed: 1: index patterns are missing;"))
            ignore = set(doc.get("ignore_missing_component_templates") or [])
            with st.lock:
                missing = [c for c in doc.get("composed_of") or []
                           if c not in st.components and c not in BUILTIN_COMPONENTS
                           and c not in ignore]
            if missing:
                return self.send(400, es_error(400, "invalid_index_template_exception",
                                               "index_template [%s] invalid, cause [index template [%s] specifies component templates %s that do not exist]"
                                               % (m.group(1), m.group(1), missing)))
            if "data_stream" in doc and not isinstance(doc["data_stream"], dict):
                return self.send(400, es_error(400, "x_content_parse_exception", "data_stream must be an object"))
            if not isinstance(doc.get("priority", 0), int):
                return self.send(400, es_error(400, "x_content_parse_exception", "priority must be a number"))
            with st.lock:
                st.index_templates[m.group(1)] = doc
            return self.send(200, {"acknowledged": True})
        self.send(404, es_error(404, "resource_not_found_exception", "no route"))

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path.startswith("/_mock/"):
            return self.mock_post(u)
        if u.path == "/api/saved_objects/_import":
            return self.kibana_import(u)
        m = re.match(r"^(?:/([^/_][^/]*))?/_bulk$", u.path)
        if m:
            return self.bulk(u, m.group(1))
        self.read_body()
        if not self.authorized():
            return
        self.record()
        self.send(404, es_error(404, "resource_not_found_exception", "no route"))

    # ---- _bulk ------------------------------------------------------------

    def bulk(self, u, url_index):
        st = self.server.state
        args = st.args
        fault = st.next_fault()
        raw = self.read_body()
        if fault.get("drop") == "before":
            self.record(fault="drop-before")
            return self.drop()
        if not self.authorized():
            return
        with st.lock:
            st.stats["bulk_requests"] += 1
        if "redirect" in fault:
            self.record(fault="redirect")
            return self.send(307, {}, headers={"Location": fault["redirect"]})
        if "status" in fault:
            s = fault["status"]
            self.record(fault="status %d" % s)
            hdrs = {}
            if "retry_after" in fault:
                hdrs["Retry-After"] = str(fault["retry_after"])
            types = {413: "request_entity_too_large", 429: "es_rejected_execution_exception",
                     503: "unavailable_shards_exception", 401: "security_exception",
                     500: "internal_server_error"}
            return self.send(s, es_error(s, types.get(s, "exception"), "injected fault"), headers=hdrs)
        if len(raw) > args.max_content_length:
            self.record(status=413)
            return self.send(413, es_error(413, "request_entity_too_large",
                                           "request body larger than http.max_content_length"))
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype not in ("application/x-ndjson", "application/vnd.elasticsearch+x-ndjson"):
            with st.lock:
                st.violation("content type %r" % ctype)
            self.record(status=406)
            return self.send(406, {"error": "Content-Type header [%s] is not supported" % ctype,
                                   "status": 406})
        enc = self.headers.get("Content-Encoding", "").lower()
        if enc == "gzip":
            with st.lock:
                st.stats["gzip_requests"] += 1
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error):
                self.record(status=400)
                return self.send(400, es_error(400, "parse_exception", "invalid gzip body"))
        elif enc:
            return self.send(400, es_error(400, "parse_exception", "unsupported encoding " + enc))
        if not raw:
            self.record(status=400)
            return self.send(400, es_error(400, "parse_exception", "request body is required"))
        if not raw.endswith(b"\n"):
            with st.lock:
                st.violation("no trailing newline")
            self.record(status=400)
            return self.send(400, es_error(400, "illegal_argument_exception",
                                           "The bulk request must be terminated by a newline [\\n]"))
        lines = raw.split(b"\n")[:-1]
        items, errors = [], False
        pairs = []
        i = 0
        while i < len(lines):
            try:
                action = json.loads(lines[i])
                assert isinstance(action, dict) and len(action) == 1
                op, meta = next(iter(action.items()))
                assert op in ("create", "index", "update", "delete") and isinstance(meta, dict)
            except Exception:
                with st.lock:
                    st.violation("malformed action line %d" % i)
                self.record(status=400)
                return self.send(400, es_error(400, "illegal_argument_exception",
                                               "Malformed action/metadata line [%d]" % (i + 1)))
            if op == "delete":
                pairs.append((op, meta, None))
                i += 1
                continue
            if i + 1 >= len(lines):
                self.record(status=400)
                return self.send(400, es_error(400, "illegal_argument_exception",
                                               "The bulk request must be terminated by a newline [\\n]"))
            pairs.append((op, meta, lines[i + 1]))
            i += 2
        for pos, (op, meta, line) in enumerate(pairs):
            index = meta.get("_index") or url_index
            if not index:
                self.record(status=400)
                return self.send(400, es_error(400, "action_request_validation_exception",
                                               "Validation Failed: 1: index is missing;"))
        forced = {}
        for k, v in (fault.get("items") or {}).items():
            forced[int(k)] = int(v)
        if "item_mod" in fault:
            k, r, s = fault["item_mod"]
            for pos in range(len(pairs)):
                if pos % k == r:
                    forced[pos] = s
        with st.lock:
            for pos, (op, meta, line) in enumerate(pairs):
                index = meta.get("_index") or url_index
                _id = meta.get("_id")
                res = self.bulk_item(st, pos, op, index, _id, line, forced.get(pos))
                if res.get("status", 0) >= 300:
                    errors = True
                items.append({op: res})
                k = str(res["status"])
                st.stats["items"][k] = st.stats["items"].get(k, 0) + 1
        resp = {"took": 1, "errors": errors, "items": items}
        q = urllib.parse.parse_qs(u.query)
        if "filter_path" in q:
            pats = ",".join(q["filter_path"]).split(",")
            keys = {p[8:] for p in pats if p.startswith("items.*.")}
            if all(p in ("errors", "took") or p.startswith("items.*.") and
                   "." not in p[8:] and "*" not in p[8:] for p in pats):
                # the usual filter, without walking every item
                top = {k: resp[k] for k in ("took", "errors") if k in pats}
                if keys:
                    kept = []
                    for it in items:
                        (op, res), = it.items()
                        r = {k: res[k] for k in keys if k in res}
                        if r:
                            kept.append({op: r})
                    if kept:
                        top["items"] = kept
                resp = top
            else:
                resp = filter_doc(resp, pats)
        self.record(status=200, n=len(pairs), fault=",".join(sorted(fault)) or None)
        if fault.get("drop") == "after":
            return self.drop()
        if "slow" in fault:
            # stored, not answered: what a test waits for before a kill
            with st.lock:
                st.stats["slow_waiting"] += 1
            time.sleep(float(fault["slow"]))
            with st.lock:
                st.stats["slow_waiting"] -= 1
        if fault.get("truncate"):
            body = json.dumps(resp).encode()
            body = body[:max(1, len(body) // 2)]
            return self.send(200, raw=body)
        if "huge" in fault:
            pad = int(fault["huge"])
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(pad + 2))
            self.end_headers()
            try:
                self.wfile.write(b"{")
                chunk = b" " * 65536
                left = pad
                while left > 0:
                    self.wfile.write(chunk[:min(left, len(chunk))])
                    left -= len(chunk)
                self.wfile.write(b"}")
            except OSError:
                self.close_connection = True
            return
        if "trickle" in fault:
            body = json.dumps(resp).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for b in body:
                    self.wfile.write(bytes([b]))
                    self.wfile.flush()
                    time.sleep(float(fault["trickle"]))
            except OSError:
                self.close_connection = True
            return
        self.send(200, resp)

    def bulk_item(self, st, pos, op, index, _id, line, forced):
        res = {"_index": index, "_id": _id}

        def fail(status, etype, reason):
            res["status"] = status
            res["error"] = {"type": etype, "reason": reason, "index": index}
            return res

        if forced == 429:
            return fail(429, "es_rejected_execution_exception",
                        "rejected execution of coordinating operation")
        if forced is not None and forced >= 500:
            return fail(forced, "unavailable_shards_exception",
                        "primary shard is not active")
        if forced is not None and forced >= 400:
            return fail(forced, "document_parsing_exception", "injected item failure")
        m = st.stream_of(index)
        if m and op != "create":
            st.violation("op %s on data stream" % op)
            return fail(400, "illegal_argument_exception",
                        "only write ops with an op_type of create are allowed in data streams")
        try:
            doc, dotted = parse_doc(line)
            assert isinstance(doc, dict)
        except Exception:
            st.violation("document %d is not a JSON object" % pos)
            return fail(400, "document_parsing_exception",
                        "[1:1] failed to parse: not a JSON object")
        if dotted:
            st.stats["dotted_keys"] += 1
        if m:
            ds = doc.get("data_stream")
            want = {"type": m.group(1), "dataset": m.group(2), "namespace": m.group(3)}
            if not isinstance(ds, dict) or any(ds.get(k) != v for k, v in want.items()):
                st.violation("data_stream mismatch in %s" % index)
                return fail(400, "document_parsing_exception",
                            "[1:1] failed to parse field [data_stream.namespace] of type "
                            "[constant_keyword]: the value must be [%s]" % want["namespace"])
            ev = doc.get("event")
            if not isinstance(ev, dict) or ev.get("dataset") != want["dataset"]:
                st.violation("event.dataset mismatch in %s" % index)
                return fail(400, "document_parsing_exception",
                            "[1:1] failed to parse field [event.dataset]: must be [%s]" % want["dataset"])
            if "@timestamp" not in doc:
                st.violation("no @timestamp")
                return fail(400, "illegal_argument_exception",
                            "data stream timestamp field [@timestamp] is missing")
        if st.reject_path is not None:
            path = (doc.get("file") or {}).get("path", "")
            if isinstance(path, str) and st.reject_path.search(path):
                return fail(400, "document_parsing_exception",
                            "[1:2] failed to parse field [file.path]: rejected by the mock")
        if _id is None:
            st.violation("create without _id")
            _id = "auto-%d" % sum(len(v) for v in st.docs.values())
            res["_id"] = _id
        store = st.docs.setdefault(index, {})
        if _id in store:
            return fail(409, "version_conflict_engine_exception",
                        "[%s]: version conflict, document already exists (current version [1])" % _id)
        st.keep_doc(index, _id, line)
        store[_id] = line
        res.update({"_version": 1, "result": "created", "status": 201,
                    "_shards": {"total": 1, "successful": 1, "failed": 0},
                    "_seq_no": len(store) - 1, "_primary_term": 1})
        return res

    # ---- Kibana -------------------------------------------------------------

    def kibana_import(self, u):
        st = self.server.state
        raw = self.read_body()
        if not self.authorized():
            return
        self.record()
        if self.headers.get("kbn-xsrf") is None:
            return self.send(400, {"statusCode": 400, "error": "Bad Request",
                                   "message": "Request must contain a kbn-xsrf header."})
        ctype = self.headers.get("Content-Type", "")
        m = re.search(r'boundary="?([^";]+)"?', ctype)
        if not ctype.lower().startswith("multipart/form-data") or not m:
            return self.send(415, {"statusCode": 415, "error": "Unsupported Media Type",
                                   "message": "Unsupported Media Type"})
        boundary = b"--" + m.group(1).encode()
        data = None
        for part in raw.split(boundary)[1:]:
            if part.startswith(b"--"):
                break
            head, _, body = part.partition(b"\r\n\r\n")
            disp = re.search(rb'Content-Disposition:\s*form-data;([^\r\n]*)', head, re.I)
            if not disp:
                continue
            name = re.search(rb'\bname="([^"]*)"', disp.group(1))
            fname = re.search(rb'\bfilename="([^"]*)"', disp.group(1))
            if name and name.group(1) == b"file":
                if not fname or not fname.group(1).endswith(b".ndjson"):
                    return self.send(400, {"statusCode": 400, "error": "Bad Request",
                                           "message": "Invalid file extension"})
                data = body[:-2] if body.endswith(b"\r\n") else body
        if data is None:
            return self.send(400, {"statusCode": 400, "error": "Bad Request",
                                   "message": "[request body.file]: expected value of type [Stream]"})
        import validate  # tests/dashboard/validate.py
        try:
            objs = validate.load_ndjson(data.decode("utf-8"))
        except validate.Invalid as e:
            return self.send(400, {"statusCode": 400, "error": "Bad Request", "message": str(e)})
        problems = validate.check(objs, validate.load_ecs(st.args.ecs_fields))
        overwrite = urllib.parse.parse_qs(u.query).get("overwrite") == ["true"]
        errors, results = [], []
        bad = {}
        for p in problems:
            bad.setdefault((p.type, p.id), []).append(p)
        with st.lock:
            st.stats["imports"] += 1
            for o in objs:
                key = (o["type"], o["id"])
                title = (o.get("attributes") or {}).get("title", "")
                if key in bad:
                    kind = "missing_references" if any(p.kind == "missing_references" for p in bad[key]) else "unknown"
                    err = {"type": kind}
                    if kind == "missing_references":
                        err["references"] = [r for p in bad[key] for r in p.refs]
                    else:
                        err["message"] = "; ".join(p.msg for p in bad[key])
                    errors.append({"id": o["id"], "type": o["type"], "title": title,
                                   "meta": {"title": title}, "error": err})
                    continue
                if "%s:%s" % key in st.kibana and not overwrite:
                    errors.append({"id": o["id"], "type": o["type"], "title": title,
                                   "meta": {"title": title}, "error": {"type": "conflict"}})
                    continue
                results.append({"type": o["type"], "id": o["id"],
                                "meta": {"title": title, "icon": "dashboardApp"}})
            if not errors:
                for o in objs:
                    st.kibana["%s:%s" % (o["type"], o["id"])] = o
        ans = {"success": not errors, "successCount": len(results) if not errors else 0,
               "successResults": results if not errors else [], "warnings": []}
        if errors:
            ans["errors"] = errors
        self.send(200, ans)

    # ---- control ------------------------------------------------------------

    def mock_get(self, u):
        st = self.server.state
        self.read_body()
        with st.lock:
            if u.path == "/_mock/stats":
                s = dict(st.stats)
                s["docs"] = sum(len(v) for v in st.docs.values())
                s["by_index"] = {k: len(v) for k, v in st.docs.items()}
                s["faults_left"] = len(st.faults)
                return self.send(200, s)
            if u.path == "/_mock/docs":
                out = []
                for idx in sorted(st.docs):
                    for _id, line in st.docs[idx].items():
                        out.append(idx.encode() + b" " + str(_id).encode() + b" " + line)
                return self.send(200, raw=b"\n".join(out) + (b"\n" if out else b""),
                                 ctype="application/x-ndjson")
            if u.path == "/_mock/history":
                return self.send(200, st.history)
            if u.path == "/_mock/templates":
                return self.send(200, {"component": st.components,
                                       "index": st.index_templates})
            if u.path == "/_mock/kibana":
                return self.send(200, st.kibana)
        self.send(404, {"error": "no such mock route"})

    def mock_post(self, u):
        st = self.server.state
        body = self.read_body()
        arg = json.loads(body) if body.strip() else None
        with st.lock:
            if u.path == "/_mock/faults/clear":
                st.faults = []
                return self.send(200, {"queued": 0})
            if u.path == "/_mock/faults":
                st.faults.extend(arg if isinstance(arg, list) else [arg])
                return self.send(200, {"queued": len(st.faults)})
            if u.path == "/_mock/reset":
                st.reset()
                return self.send(200, {"reset": True})
            if u.path == "/_mock/config":
                if "reject_path" in arg:
                    st.reject_path = re.compile(arg["reject_path"]) if arg["reject_path"] else None
                return self.send(200, {"ok": True})
        self.send(404, {"error": "no such mock route"})


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def ctl(argv):
    port, method, path = argv[0], argv[1], argv[2]
    data = argv[3].encode() if len(argv) > 3 else None
    for scheme in ("http", "https"):
        req = urllib.request.Request("%s://127.0.0.1:%s%s" % (scheme, port, path),
                                     data=data, method=method)
        # the control API needs no trust: a TLS mock is asked too
        ctx = ssl._create_unverified_context() if scheme == "https" else None
        try:
            with urllib.request.urlopen(req, timeout=30, context=ctx) as r:
                sys.stdout.write(r.read().decode())
                return 0
        except urllib.error.HTTPError as e:
            sys.stdout.write(e.read().decode())
            return 1
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException):
            if scheme == "https":
                raise
    return 1


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "ctl":
        return ctl(sys.argv[2:])
    ap = argparse.ArgumentParser(description="mock Elasticsearch and Kibana")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--ready-file", required=True,
                    help="the port is written here once listening")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--api-key", action="append",
                    help="accepted API key (id:key or its base64 form)")
    ap.add_argument("--basic", action="append", help="accepted user:password")
    ap.add_argument("--max-content-length", type=int, default=100 << 20)
    ap.add_argument("--reject-path", help="item 400 for documents whose file.path matches")
    ap.add_argument("--docs-file", help="keep stored documents here, across restarts")
    ap.add_argument("--ecs-fields", help="JSON of ECS field definitions for the dashboard check")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    srv = Server((args.bind, args.port), Handler)
    srv.state = State(args)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        # The handshake runs in the handler's thread, not in accept().
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                     do_handshake_on_connect=False)
    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.ready_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
