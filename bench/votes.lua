-- wrk script for scripts/bench: votes from many distinct voters. Request j
-- of all threads is voter j / #cases on case j % #cases, so no (voter,
-- case) pair repeats until the voters run out; the choices take turns.
-- Each voter is at an address of its own (X-Real-IP, which the bench's
-- nginx takes from 127.0.0.1), as voters at large are: the cap per address
-- and nginx's limit per address stay at their production values.
-- Counts the answers: 201 counted, 200 a repeat, anything else.
--   wrk ... -s bench/votes.lua URL -- COOKIES FIRST COUNT CASES CHOICES THREADS
-- COOKIES a file of cookie values, one a line, of which lines FIRST to
-- FIRST + COUNT - 1 are used (1-based); CASES and CHOICES comma-separated.
local threads = {}

function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end

local function split(text)
    local list = {}
    for item in text:gmatch("[^,]+") do
        list[#list + 1] = item
    end
    return list
end

function init(args)
    first = tonumber(args[2])
    local count = tonumber(args[3])
    cookies = {}
    local i = 0
    for line in io.lines(args[1]) do
        i = i + 1
        if i >= first and i < first + count then
            cookies[#cookies + 1] = line
        end
    end
    cases, choices = split(args[4]), split(args[5])
    nthreads = tonumber(args[6])
    n, counted, repeats, other = 0, 0, 0, 0
end

function request()
    local j = n * nthreads + id
    n = n + 1
    local v = math.floor(j / #cases) % #cookies
    local a = first + v -- the voter's line in the file: its own address
    local address = string.format("10.%d.%d.%d", math.floor(a / 65536) % 256,
                                  math.floor(a / 256) % 256, a % 256)
    return wrk.format("POST", "/api/public/cases/" .. cases[j % #cases + 1] .. "/votes",
                      {["Cookie"] = "portal_voter=" .. cookies[v + 1],
                       ["X-Real-IP"] = address,
                       ["Content-Type"] = "application/json"},
                      '{"choice":"' .. choices[n % #choices + 1] .. '"}')
end

function response(status, headers, body)
    if status == 201 then
        counted = counted + 1
    elseif status == 200 then
        repeats = repeats + 1
    else
        other = other + 1
    end
end

function done(summary, latency, requests)
    local c, r, o = 0, 0, 0
    for _, t in ipairs(threads) do
        c, r, o = c + t:get("counted"), r + t:get("repeats"), o + t:get("other")
    end
    io.write(string.format("votes: counted %d repeat %d other %d\n", c, r, o))
end
