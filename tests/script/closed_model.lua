-- The run's model is the one trained last, even when the script closes it
-- (transfer.lua does, with <close>): model.thaw is still in the run folder.
-- A 4-class evaluation: summary.json has no top-5 accuracy (it would be 1.0).
local thaw = require "thaw"
local d = thaw.data.synthetic{n = 64, classes = 4, size = {12, 12}}
do
	local m <close> = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
	thaw.fit(m, d, {phase = "only", epochs = 1, batch = 32, checkpoint = false})
	thaw.evaluate(m, d, {name = "train"})
	thaw.evaluate(m, d, {name = "top2", topk = 2})
end
collectgarbage()
