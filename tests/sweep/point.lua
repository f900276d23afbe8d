-- One sweep point, small and fast: a tiny CNN on a few synthetic images,
-- trained at thaw.params.lr for thaw.params.epochs, evaluated as "val".
-- thaw.params.fail = 1 makes the point fail with a script error;
-- thaw.params.sleep = S waits S seconds first (to be cancelled meanwhile).
local thaw = require "thaw"
local p = thaw.params
if p.sleep then os.execute("sleep " .. p.sleep) end
if p.fail == 1 then error("this point fails on purpose") end
local data = thaw.data.synthetic{n = 48, classes = 3, size = {8, 8}, seed = 3}
local train, val = data:split(0.25)
local m = thaw.reference_cnn{input = {1, 8, 8}, classes = 3}
thaw.fit(m, train, {epochs = p.epochs or 1, batch = 12, lr = p.lr or 1e-3})
local r = thaw.evaluate(m, val, {name = "val"})
print(string.format("arg %s params lr=%s accuracy %.4f", table.concat(arg, " "), tostring(p.lr), r.accuracy))
