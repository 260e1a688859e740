-- Crossing limit orders for `python -m bench api`, one wrk run against one gateway.
--
-- wrk -s orders.lua URL -- MODE PREFIX CREDENTIALS
--   MODE         lionrock: POST /v1/orders (Authorization: Bearer <API key>)
--                peer:     POST /markets/BTC-USDT/orders (matching-engine's gateway: no auth)
--   PREFIX       makes client order ids unique across runs against the same journal
--   CREDENTIALS  comma-separated: API keys (lionrock) or account numbers (peer), an even number
--
-- Every thread alternates buy and sell at one price and walks the credentials in turn, so a buy
-- from one user is followed by a sell from the next: every pair trades, never with itself. Each
-- request carries a client order id unique to the thread and the run (lionrock refuses a reused
-- one as a retry). done() prints one JSON line (counts and latency percentiles in microseconds).

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local function split(text)
  local out = {}
  for item in string.gmatch(text, "[^,]+") do
    table.insert(out, item)
  end
  return out
end

function init(args)
  mode = args[1]
  prefix = args[2] .. "t" .. id .. "-"
  credentials = split(args[3])
  sent = 0
  if mode == "lionrock" then
    path = "/v1/orders"
  else
    path = "/markets/BTC-USDT/orders"
  end
end

function request()
  sent = sent + 1
  local buy = sent % 2 == 0
  local credential = credentials[(sent % #credentials) + 1]
  local headers = { ["Content-Type"] = "application/json" }
  local body
  if mode == "lionrock" then
    headers["Authorization"] = "Bearer " .. credential
    body = string.format(
      '{"instrument":"09999","side":"%s","quantity":100,"price":"49.90","client_order_id":"%s%d"}',
      buy and "B" or "S", prefix, sent)
  else
    body = string.format(
      '{"account":%s,"side":"%s","price":"100.00","quantity":"0.001"}',
      credential, buy and "buy" or "sell")
  end
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"non_2xx":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"latency_us_p50":%d,"latency_us_p90":%d,"latency_us_p99":%d,' ..
    '"latency_us_max":%d,"latency_us_mean":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, errors.status, errors.connect, errors.read,
    errors.write, errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
