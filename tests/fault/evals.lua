-- Ctrl-C outside thaw.fit: after a short fit, either a long loop of
-- evaluations (`-- loop`) or one long evaluation as the script's last call
-- (`-- last`); run.sh interrupts it once "fitted" (or "last call") is
-- printed.
local thaw = require "thaw"
local data = thaw.data.synthetic{n = 1000, classes = 4, size = {16, 16}}
local m = thaw.reference_cnn{input = {1, 16, 16}, classes = 4}
thaw.fit(m, data:per_class(10), {epochs = 1, batch = 20, checkpoint = false})
print("fitted")
if arg[1] == "loop" then
	for i = 1, 400 do
		thaw.evaluate(m, data, {name = "loop"})
	end
	print("finished")
else
	local big = data
	for _ = 1, 4 do
		big = big:join(big)
	end
	print("last call")
	thaw.evaluate(m, big, {name = "last"}) -- Ctrl-C comes during this last call
	print("finished")
end
