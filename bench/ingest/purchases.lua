-- wrk script: realistic POS sales to POST /api/v1/purchases, each with a
-- fresh Idempotency-Key, 2 to 4 distinct products, ~30% returning customers.
-- done() prints one JSON line the benchmark driver parses.

local products = {"milk", "eggs", "bread", "milk", "eggs", "bread", "chicken", "apples",
                  "toilet paper", "cereal", "cheese", "yogurt", "orange juice"}
local branches = {"SMKT001", "SMKT002", "SMKT003"}
local customers = {}
-- The cashier's token, handed over by the driver (the service checks it on every sale).
local authorization = "Bearer " .. (os.getenv("BENCH_CASHIER_TOKEN") or "")

local function uuid4()
  local template = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
  return (string.gsub(template, "[xy]", function(c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%x", v)
  end))
end

local thread_counter = 0
function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("thread_id", thread_counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_id or 0))
  for i = 1, 2000 do customers[i] = uuid4() end
end

function request()
  local count = math.random(2, 4)
  local chosen, items = {}, {}
  while #items < count do
    local name = products[math.random(#products)]
    if not chosen[name] then
      chosen[name] = true
      items[#items + 1] = '"' .. name .. '"'
    end
  end
  local customer = ""
  if math.random() < 0.3 then
    customer = ',"customer_id":"' .. customers[math.random(#customers)] .. '"'
  end
  local body = '{"branch_id":"' .. branches[math.random(#branches)] .. '"' .. customer ..
               ',"items":[' .. table.concat(items, ",") .. ']}'
  local headers = {["Content-Type"] = "application/json", ["Idempotency-Key"] = uuid4(),
                   ["Authorization"] = authorization}
  return wrk.format("POST", "/api/v1/purchases", headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
                 summary.errors.timeout + summary.errors.status
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"errors":%d,"non_2xx":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
