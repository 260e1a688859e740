-- Crossing limit orders for the server benchmarks (bench/load.py), one wrk run against one gateway.
--
-- wrk -s orders.lua URL -- MODE PREFIX CREDENTIALS [INSTRUMENTS [PRICE]]
--   MODE         lionrock: POST /v1/orders (Authorization: Bearer <API key>)
--                peer:     POST /markets/BTC-USDT/orders (matching-engine's gateway: no auth)
--   PREFIX       makes client order ids unique across runs against the same journal
--   CREDENTIALS  comma-separated: API keys (lionrock) or account numbers (peer), an even number
--   INSTRUMENTS  comma-separated instrument codes (lionrock; default 09999): pair k trades the
--                k-th in turn, so orders spread over shards
--   PRICE        the limit price (lionrock; default 49.90)
--
-- Every thread alternates sell and buy at one price and walks the credentials in turn, so a sell
-- from one user is followed by a buy from the next: every pair trades, never with itself. Each
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
  instruments = split(args[4] or "09999")
  price = args[5] or "49.90"
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
    local instrument = instruments[(math.floor((sent - 1) / 2) % #instruments) + 1]
    body = string.format(
      '{"instrument":"%s","side":"%s","quantity":100,"price":"%s","client_order_id":"%s%d"}',
      instrument, buy and "B" or "S", price, prefix, sent)
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
