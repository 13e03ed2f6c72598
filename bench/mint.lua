-- wrk script for scripts/bench: mints voter cookies (POST /api/public/voter
-- without a cookie answers a new one) and writes each, one a line, to
-- OUT.<thread number>.   wrk ... -s bench/mint.lua URL/api/public/voter -- OUT
local threads = {}

function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end

function init(args)
    out = io.open(args[1] .. "." .. id, "w")
    out:setvbuf("line")
end

wrk.method = "POST"

function response(status, headers, body)
    local cookie = headers["Set-Cookie"]
    local value = cookie and cookie:match("portal_voter=([^;]+)")
    if value then
        out:write(value, "\n")
    end
end
