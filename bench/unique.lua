-- bench/unique.lua: wrk -s script giving every request a path of its own
-- (the URL's path and query plus &u=RUN-THREAD-N), so that through bocache
-- each request is a first MISS that is filled and stored: lookup, lease,
-- backend, store.
local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

function init(args)
   -- A new run never reuses an earlier run's paths, even within an
   -- entry's TTL.
   math.randomseed(os.time() * 100 + tid)
   run = math.random(1, 1000000000)
   n = 0
end

function request()
   n = n + 1
   return wrk.format(nil, wrk.path .. "&u=" .. run .. "-" .. tid .. "-" .. n)
end
