-- A complete small experiment: two phases (the second with validation),
-- two evaluations, a passing check. run.sh checks the run folder it leaves.
local thaw = require "thaw"

local data = thaw.data.synthetic{n = 320, classes = 4, size = {12, 12}, seed = 7}
local train, val = data:split(0.25)
local m = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
m:set_classes(data.classes)

thaw.fit(m, train, {phase = "head", epochs = 2, batch = 32, lr = 2e-3})
m:freeze{upto = "pool1"}
thaw.fit(m, train, {phase = "tune", epochs = 3, batch = 32, lr = 1e-3, val = val})

local r = thaw.evaluate(m, val, {name = "val"})
thaw.evaluate(m, train) -- default name: eval2
thaw.check(r.accuracy > 0.5, "learns the synthetic bars")
print("final accuracy " .. r.accuracy)
