-- Ctrl-C during a thaw.fit that the script wraps in pcall: the run must
-- still end as interrupted (exit 130), not carry on and report success.
local thaw = require "thaw"
local d = thaw.data.synthetic{n = 256, classes = 4, size = {12, 12}}
local m = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
local function wait() local t = os.clock() + 0.005 while os.clock() < t do end end
local ok, err = pcall(thaw.fit, m, d, {phase = "long", epochs = 300, batch = 32, on_batch = wait})
print("pcall gave", ok, tostring(err))
