-- One model trained the same way by 1 process or by N MPI ranks sharing
-- each batch: no dropout, trainable batch norm, shift augmentation. The
-- convolutions have no bias: before a batch norm its gradient is zero up
-- to rounding, which Adam would blow up into noise.
-- arg[1]: "sgd1" (one SGD step at lr 1 over the whole set, so the change
-- of the weights is the gradient) or "train" (3 epochs of Adam);
-- arg[2]: bn_stats ("sync", the default, or "local").
local thaw = require "thaw"
local data = thaw.data.synthetic{n = 192, classes = 4, size = {12, 12}, noise = 0.3, seed = 5}
local m = thaw.model{input = {1, 12, 12}, seed = 3}
m:add(thaw.nn.conv2d{filters = 8, kernel = 3, padding = 1, bias = false, name = "conv1"})
m:add(thaw.nn.batchnorm{name = "bn1"})
m:add(thaw.nn.relu{})
m:add(thaw.nn.maxpool{kernel = 2})
m:add(thaw.nn.conv2d{filters = 8, kernel = 3, padding = 1, bias = false, name = "conv2"})
m:add(thaw.nn.batchnorm{name = "bn2"})
m:add(thaw.nn.relu{})
m:add(thaw.nn.globalavgpool{})
m:add(thaw.nn.flatten{})
m:add(thaw.nn.dense{units = 4, name = "head"})
local bn = arg[2] or "sync"
if arg[1] == "sgd1" then
	thaw.fit(m, data, {phase = "step", epochs = 1, batch = 192, optimizer = "sgd", lr = 1, momentum = 0,
		bn_stats = bn, seed = 7})
else
	thaw.fit(m, data, {phase = "train", epochs = 3, batch = 32, lr = 3e-3, shift = 1, bn_stats = bn,
		seed = 7, val = data})
end
print(string.format("rank %d of %d", thaw.mpi.rank, thaw.mpi.size))
