destination "ok" { folder = "out/ok" }
destination "review" { folder = "out/review" }
getmetatable("").__index = function() return "x" end
local t = setmetatable({}, { __index = function(t, k) return k end })
rule("err-table", function(s) error({ code = 1 }) end)
rule("err-nil", function(s) error() end)
rule("err-fn", function(s) error(print) end)
rule("unknown", function(s) return "nowhere" end)
rule("modify", function(s) s.title = "x" end)
rule("loop", function(s) while true do end end)
rule("bomb", function(s) return string.rep("x", 1 << 30) end)
rule("gc", function(s) collectgarbage("stop") collectgarbage("setpause", 1000) end)
rule("rec", function(s) local function f() return f() + 1 end return f() end)
rule("co", function(s) local c = coroutine.wrap(function() coroutine.yield(s) end) return c() end)
fallback "review"
