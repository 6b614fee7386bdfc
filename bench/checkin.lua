-- wrk script: every POST is a new check-in, with a client_id no other request of the run uses,
-- by the next cadre of a crowd, round robin, with that cadre's own access token.
-- Arguments (after `--`): an 8-hex-digit prefix new for each run, and the crowd's file: one
-- `cadre_id token` a line (bench/run.py writes it).
-- The client_id is <prefix>-<thread>-4000-8000-<counter>: unique without randomness.

local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

local counter = 0
local prefix = "00000000"
-- One entry per cadre: its id and the headers with its token, built once here, not per request.
local crowd = {}
local next_one = 0
local tail = '","region_code":"511529100201","kind":"checkin","latitude":28.61,'
   .. '"longitude":104.72,"accuracy_m":12.5,"client_time":"2025-06-01T08:30:00+08:00"}'

function init(args)
   prefix = args[1] or prefix
   tid = tid or 0
   local path = args[2]
   if not path then error("checkin.lua needs the crowd's file after the prefix") end
   local file = assert(io.open(path, "r"))
   for line in file:lines() do
      local cadre, token = line:match("^(%S+)%s+(%S+)")
      if cadre then
         crowd[#crowd + 1] = {
            cadre = cadre,
            headers = {
               ["Content-Type"] = "application/json",
               ["Authorization"] = "Bearer " .. token,
            },
         }
      end
   end
   file:close()
   if #crowd == 0 then error("no cadres in " .. path) end
   -- Each thread starts at its own place in the crowd (spread by the golden ratio), so that
   -- several threads do not send the same cadre's check-ins at the same moment.
   next_one = math.floor(((tid - 1) * 0.6180339887) % 1 * #crowd)
end

function request()
   counter = counter + 1
   local one = crowd[next_one + 1]
   next_one = (next_one + 1) % #crowd
   local client_id = string.format("%s-%04x-4000-8000-%012x", prefix, tid, counter)
   local body = '{"client_id":"' .. client_id .. '","cadre_id":"' .. one.cadre .. tail
   return wrk.format("POST", nil, one.headers, body)
end
