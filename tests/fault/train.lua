-- The fault suite's training run: two phases with checkpoints (the
-- rolling checkpoint.thaw after every epoch, phase-N.thaw at the end of
-- each), metrics and plots rewritten every epoch, an evaluation, then
-- model.thaw: every kind of file a run writes, often enough that a
-- kill -9 at a random moment lands in the middle of one.
local thaw = require "thaw"
local data = thaw.data.synthetic{n = 320, classes = 4, size = {12, 12}, noise = 0.3}
local train, val = data:split(0.25)
local m = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
thaw.fit(m, train, {phase = "head", epochs = 2, batch = 16, lr = 2e-3, shift = 1})
m:freeze{upto = "pool2"}
thaw.fit(m, train, {phase = "tune", epochs = 3, batch = 16, optimizer = "sgd", lr = 1e-2, val = val})
print(string.format("done %.6f", thaw.evaluate(m, val, {name = "val"}).loss))
