-- Two phases with dropout, validation and the run's checkpoints, for the
-- MPI fault and resume tests. arg[1]: "ok" runs through; "error" makes
-- rank 1 raise a Lua error, "exit" makes rank 1 leave at once
-- (os.exit(7), no MPI goodbye), both at batch 3 of epoch 2 of the
-- second phase, after the first epoch's checkpoint; "diverge" gives each
-- rank its own learning rate (a script bug the ranks must catch);
-- "signal" slows the second phase (batches of 8) from its epoch 2 down and has rank 0
-- create the file arg[2] there, for the test to send Ctrl-C to mpirun.
local thaw = require "thaw"
local mode = arg[1] or "ok"
local data = thaw.data.synthetic{n = 320, classes = 4, size = {12, 12}, noise = 0.3, seed = 5}
local train, val = data:split(0.25)
local m = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
local function fail(s)
	if mode == "signal" and s.phase == "tune" and s.epoch >= 2 then
		if thaw.mpi.rank == 0 and s.batch == 1 and s.epoch == 2 then io.open(arg[2], "w"):close() end
		-- 0.1 s of CPU a batch over 30 batches: the test's Ctrl-C lands in
		-- epoch 2 even on a loaded machine, and the ranks reach the next
		-- batch boundary well within the second mpirun gives them
		local t = os.clock() + 0.1
		while os.clock() < t do end
	end
	if thaw.mpi.rank == 1 and s.phase == "tune" and s.epoch == 2 and s.batch == 3 then
		if mode == "error" then error("rank 1 fails on purpose") end
		if mode == "exit" then os.exit(7) end
	end
end
local lr = mode == "diverge" and 2e-3 * (1 + thaw.mpi.rank) or 2e-3
thaw.fit(m, train, {phase = "head", epochs = 2, batch = 32, lr = lr, shift = 1, on_batch = fail})
m:freeze{upto = "pool2"}
thaw.fit(m, train, {phase = "tune", epochs = 3, batch = 8, optimizer = "sgd", lr = 1e-2, val = val,
	on_batch = fail})
print(string.format("done on %d ranks, val loss %.6f", thaw.mpi.size, thaw.evaluate(m, val, {name = "val"}).loss))
m:save(thaw.run_dir() .. "/saved-by-script.thaw")
