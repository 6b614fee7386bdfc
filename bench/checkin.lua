-- wrk script: every POST is a new check-in, with a client_id no other request of the run uses.
-- Arguments (after `--`): an 8-hex-digit prefix new for each run, the phase's cadre_id, and
-- that cadre's access token.
-- The client_id is <prefix>-<thread>-4000-8000-<counter>: unique without randomness.

local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

local counter = 0
local prefix = "00000000"
local cadre = "00000000-0000-4000-8000-000000000000"
local headers = { ["Content-Type"] = "application/json" }

function init(args)
   prefix = args[1] or prefix
   cadre = args[2] or cadre
   if args[3] then headers["Authorization"] = "Bearer " .. args[3] end
   tid = tid or 0
end

function request()
   counter = counter + 1
   local client_id = string.format("%s-%04x-4000-8000-%012x", prefix, tid, counter)
   local body = '{"client_id":"' .. client_id .. '","cadre_id":"' .. cadre .. '",'
      .. '"region_code":"511529100201","kind":"checkin","latitude":28.61,'
      .. '"longitude":104.72,"accuracy_m":12.5,"client_time":"2025-06-01T08:30:00+08:00"}'
   return wrk.format("POST", nil, headers, body)
end
