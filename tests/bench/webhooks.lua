-- wrk script of bench_webhooks.py: each wrk thread sends its own slice of pre-signed Stripe
-- deliveries (one line each: signature, a tab, the body), every one a different event; a thread
-- that has used its slice up repeats its last one (answered as a duplicate, counted apart).
-- done() prints one JSON line for the benchmark to read.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads, path = args[1], tonumber(args[2]), args[3]
  requests = {}
  local index = 0
  for line in io.lines(file) do
    if index % nthreads == id then
      local signature, body = line:match("^([^\t]+)\t(.*)$")
      table.insert(requests, wrk.format("POST", path,
        {["Content-Type"] = "application/json", ["Stripe-Signature"] = signature}, body))
    end
    index = index + 1
  end
  -- wrk calls the first thread's request() once to check the script, and sends nothing: that call must not
  -- use up a delivery (it did: evt_bench_0 was never sent)
  skipped = (id == 0) and 1 or 0
  sent, ok, total = 0, 0, #requests
end

function request()
  sent = sent + 1
  return requests[math.max(1, math.min(sent - skipped, #requests))]
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 end
end

function done(summary, latency, requests)
  local ok_total, distinct = 0, 0
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    distinct = distinct + math.max(0, math.min(thread:get("sent") - thread:get("skipped"), thread:get("total")))
  end
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "ok": %d, "distinct_sent": %d, "errors": %d, "timeouts": %d, ' ..
    '"p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6, ok_total, distinct,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status,
    summary.errors.timeout, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
