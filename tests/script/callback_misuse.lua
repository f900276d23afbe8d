-- Callbacks that pull the model or the data out from under a running
-- thaw.fit: each must end in a Lua error (caught here), never a crash.
local thaw = require "thaw"

local function attempt(what, body)
	local d = thaw.data.synthetic{n = 128, classes = 4, size = {12, 12}}
	local m = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
	local calls = 0
	local ok, err = pcall(thaw.fit, m, d, {epochs = 2, batch = 32, on_batch = function()
		calls = calls + 1
		if calls == 2 then body(m, d) end
	end})
	print(what, ok, err)
	thaw.check(not ok, what .. ": thaw.fit must fail, it returned normally")
end

attempt("pop in on_batch", function(m) m:pop() end)
attempt("add in on_batch", function(m) m:add(thaw.nn.dense{units = 3}) end)
attempt("close the model in on_batch", function(m) m:close() end)
attempt("close the data in on_batch", function(_, d) d:close() end)
print("callback misuse done")
