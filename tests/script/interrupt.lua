-- Trains for long enough to be interrupted: run.sh sends SIGINT once the
-- first progress line is out. The busy wait per batch keeps the run slow
-- however fast the machine is; it does not touch the training.
local thaw = require "thaw"
local d = thaw.data.synthetic{n = 256, classes = 4, size = {12, 12}}
local m = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
local function wait() local t = os.clock() + 0.005 while os.clock() < t do end end
thaw.fit(m, d, {phase = "long", epochs = 300, batch = 32, on_batch = wait})
print("not interrupted")
