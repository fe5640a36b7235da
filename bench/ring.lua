-- bench/ring.lua: wrk -s script cycling each thread's requests over a ring
-- of keys of its own (the URL's path and query plus &k=THREAD-I, I from 0
-- to RING-1; RING is the script's argument, 128 without one). The keys are
-- the same in every run, so a warm-up can store them all; a key comes back
-- only after RING more requests of its thread, while at most the thread's
-- connections are in flight, so through bocache no two requests of a run
-- share a key's fill lease and each one does its own lookup and fill.
local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

function init(args)
   ring = tonumber(args[1] or "") or 128
   n = 0
end

function request()
   n = n + 1
   return wrk.format(nil, wrk.path .. "&k=" .. tid .. "-" .. (n % ring))
end
