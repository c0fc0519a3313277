-- wrk script: HTTP/1.1 pipelining. Each connection sends DEPTH GET / requests
-- in one write and waits for all DEPTH responses before the next batch.
-- wrk counts every response as a request (and its latency is the batch's).
--   wrk -t1 -c64 -d5s -s bench/pipeline.lua http://127.0.0.1:8080/ -- 16
init = function(args)
  local depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format(nil, "/")
  end
  req = table.concat(r)
end

request = function()
  return req
end
