-- Prints what run.sh compares: the seed thaw run was given, the script
-- arguments, and a fingerprint of the training (which depends on the seed).
local thaw = require "thaw"
print("seed=" .. thaw.seed())
print("argc=" .. #arg)
for i = 0, #arg do print("arg[" .. i .. "]=" .. arg[i]) end
local d = thaw.data.synthetic{n = 96, classes = 4, size = {12, 12}}
local m = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
local h = thaw.fit(m, d, {epochs = 1, batch = 32})
print(string.format("loss=%.9g", h[1].loss))
