-- The valgrind run: every step of a headless run, kept tiny (a transfer
-- set-up, a fit with validation and checkpoints, an evaluation, a
-- prediction, plots, the final model).
local thaw = require "thaw"
local data = thaw.data.synthetic{n = 48, classes = 3, size = {8, 8}}
local train, val = data:split(0.25)
local m = thaw.reference_cnn{input = {1, 8, 8}, classes = 3}
m:pop()
m:add(thaw.nn.dense{units = 3, name = "head"})
m:freeze{upto = "fc1"}
thaw.fit(m, train, {phase = "head", epochs = 2, batch = 12, val = val})
m:unfreeze()
thaw.fit(m, train, {phase = "tune", epochs = 1, batch = 12, lr = 1e-4})
thaw.check(thaw.evaluate(m, val, {name = "val"}).n == #val, "evaluated every image")
thaw.predict(m, val, 1)
