-- Two phases: the head with Adam, then a frozen base with SGD on a cosine
-- schedule; the reference CNN has dropout, so the RNG state matters.
-- `-- slow` adds a busy wait per batch (the training is unchanged) so
-- run.sh can interrupt the run in the middle of a phase.
local thaw = require "thaw"
local slow = arg[1] == "slow"
local function pause()
	if slow then
		local t = os.clock() + 0.006
		while os.clock() < t do end
	end
end
local data = thaw.data.synthetic{n = 600, classes = 4, size = {12, 12}, noise = 0.3}
local train, val = data:split(0.2)
local m = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
thaw.fit(m, train, {phase = "head", epochs = 3, batch = 32, lr = 2e-3, shift = 1, on_batch = pause})
m:freeze{upto = "pool2"}
thaw.fit(m, train, {phase = "tune", epochs = 4, batch = 32, optimizer = "sgd", lr = 1e-2,
	schedule = "cosine", val = val, on_batch = pause})
print(string.format("done %.6f", thaw.evaluate(m, val, {name = "val"}).loss))
