-- One sweep point, small and fast: a tiny CNN on a few synthetic images,
-- trained at thaw.params.lr for thaw.params.epochs, evaluated as "val".
-- A point with thaw.params.slow = 1 waits, after training, while the file
-- named by $SWEEP_HOLD exists (run.sh cancels it meanwhile).
local thaw = require "thaw"
local p = thaw.params
local data = thaw.data.synthetic{n = 48, classes = 3, size = {8, 8}, seed = 3}
local train, val = data:split(0.25)
local m = thaw.reference_cnn{input = {1, 8, 8}, classes = 3}
thaw.fit(m, train, {epochs = p.epochs or 1, batch = 12, lr = p.lr or 1e-3})
local r = thaw.evaluate(m, val, {name = "val"})
print(string.format("arg %s params lr=%s accuracy %.4f", table.concat(arg, " "), tostring(p.lr), r.accuracy))
local hold = os.getenv("SWEEP_HOLD")
if p.slow == 1 and hold then
  while true do
    local f = io.open(hold)
    if not f then break end
    f:close()
    os.execute("sleep 0.2")
  end
end
-- thaw.mpi exists where thaw is built with MPI (a sweep's --mpi N)
if thaw.mpi then print("mpi rank " .. thaw.mpi.rank .. " of " .. thaw.mpi.size) end
