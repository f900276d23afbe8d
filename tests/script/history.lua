-- thaw.fit's history and callbacks, asserted from inside the script.
local thaw = require "thaw"
local data = thaw.data.synthetic{n = 192, classes = 4, size = {12, 12}}
local train, val = data:split(0.25)
local m = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}

local function close(a, b) return math.abs(a - b) <= 1e-9 * math.max(1, math.abs(b)) end

-- the history: one entry per epoch, with validation figures when val is given
local h = thaw.fit(m, train, {phase = "first", epochs = 3, batch = 16, val = val})
thaw.check(#h == 3 and h.epochs == 3, "3 epochs give 3 history entries (got " .. #h .. ")")
thaw.check(h.phase == "first" and h.stopped_early == false, "history.phase and stopped_early")
for i, e in ipairs(h) do
	thaw.check(e.epoch == i and e.phase == "first", "entry " .. i .. " is epoch " .. i)
	for _, k in ipairs{"loss", "accuracy", "val_loss", "val_accuracy", "seconds", "img_s", "lr", "step"} do
		thaw.check(type(e[k]) == "number", "entry " .. i .. " has a number " .. k)
	end
	thaw.check(e.accuracy >= 0 and e.accuracy <= 1 and e.val_accuracy >= 0 and e.val_accuracy <= 1,
		"accuracies are fractions")
	thaw.check(e.seconds > 0 and e.img_s > 0, "epoch " .. i .. " has a time and a speed")
	thaw.check(e.step == i * 9, "144 images in batches of 16: 9 steps per epoch (step " .. e.step .. ")")
end
thaw.check(h[3].loss < h[1].loss, "the training loss falls")
-- the last validation figures are what evaluate says of the model now
local r = thaw.evaluate(m, val, {name = "val"})
thaw.check(close(r.loss, h[3].val_loss) and close(r.accuracy, h[3].val_accuracy),
	"history's last val_loss/val_accuracy equal thaw.evaluate's")
thaw.check(r.n == #val and #r.per_class == 4 and #r.confusion == 4, "evaluate: n, per_class, confusion")
local total, right = 0, 0
for i = 1, 4 do
	for j = 1, 4 do total = total + r.confusion[i][j] end
	right = right + r.confusion[i][i]
end
thaw.check(total == #val and close(right / total, r.accuracy), "the confusion matrix adds up to the accuracy")

-- without validation data there are no val_ fields
local h2 = thaw.fit(m, train, {epochs = 1, batch = 16})
thaw.check(h2[1].val_loss == nil and h2[1].val_accuracy == nil, "no val fields without val")
thaw.check(h2.phase == "phase2", "an unnamed phase is called phase<N> (got " .. tostring(h2.phase) .. ")")

-- on_epoch returning false stops the phase after that epoch
local epochs_seen = 0
local h3 = thaw.fit(m, train, {phase = "stop", epochs = 10, batch = 16, on_epoch = function(e)
	epochs_seen = epochs_seen + 1
	thaw.check(e.phase == "stop" and e.epoch == epochs_seen, "on_epoch gets the epoch's stats")
	return e.epoch < 2
end})
thaw.check(epochs_seen == 2 and #h3 == 2 and h3.epochs == 2 and h3.stopped_early,
	"on_epoch returning false after epoch 2 stops the phase (ran " .. epochs_seen .. ")")

-- returning nothing (or true) does not stop
local h4 = thaw.fit(m, train, {epochs = 2, batch = 16, on_epoch = function() end})
thaw.check(#h4 == 2 and not h4.stopped_early, "on_epoch returning nil goes on")

-- on_batch receives the batch statistics; returning false stops at once
local batches, first = 0, nil
local h5 = thaw.fit(m, train, {phase = "batches", epochs = 3, batch = 16, on_batch = function(s)
	batches = batches + 1
	first = first or s
	if batches == 4 then return false end
end})
thaw.check(batches == 4, "on_batch returning false stops the phase (" .. batches .. " calls)")
thaw.check(#h5 == 0 and h5.epochs == 0 and h5.stopped_early, "no epoch finished")
thaw.check(first.phase == "batches" and first.epoch == 1 and first.batch == 1 and first.batches == 9,
	"on_batch stats: phase, epoch, batch, batches")
for _, k in ipairs{"loss", "accuracy", "img_s", "lr", "step"} do
	thaw.check(type(first[k]) == "number", "on_batch stats has a number " .. k)
end

-- early stopping: patience without improvement ends the phase
local h6 = thaw.fit(m, train, {epochs = 40, batch = 16, val = val, patience = 1, restore_best = true,
	optimizer = "sgd", lr = 0.05})
thaw.check(h6.epochs < 40 and h6.stopped_early, "patience 1 stops before 40 epochs (ran " .. h6.epochs .. ")")
local best = math.huge
for _, e in ipairs(h6) do best = math.min(best, e.val_loss) end
thaw.check(close(thaw.evaluate(m, val).loss, best), "restore_best ends with the best epoch's weights")

-- the schedule reaches the model: cosine decays to min_lr at the end
local h7 = thaw.fit(m, train, {epochs = 2, batch = 16, schedule = "cosine", lr = 0.01, min_lr = 0.001})
thaw.check(close(h7[2].lr, 0.001) or math.abs(h7[2].lr - 0.001) < 1e-6,
	"cosine ends at min_lr (lr " .. h7[2].lr .. ")")
print("history done")
