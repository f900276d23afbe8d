-- thaw.fine_tune and thaw.lr_find from Lua on synthetic data: a 5-class
-- model meets 3 classes; fine_tune cuts at pool2, trains the head, then
-- everything; the history names both phases and the groups' rates;
-- lr_find leaves the model as it was and writes its PNG.
local thaw = require "thaw"

local data = thaw.data.synthetic{n = 60, classes = 3, size = {12, 12}, seed = 3}
local m = thaw.reference_cnn{input = {1, 12, 12}, classes = 5}

local h = thaw.fine_tune(m, data, {cut = "pool2", head_epochs = 2, epochs = 2, batch = 20, val = data})
thaw.check(h.new_head and h.head == "head" and m:layer(-1).name == "head", "a new head after the cut")
thaw.check(m:layer(-3).name == "flatten" and m:layer(-2).name == "head_dropout", "flatten and dropout after pool2")
thaw.check(h.head_epochs == 2 and h.epochs == 2, "two epochs a phase")
thaw.check(#h == 4 and h[1].phase == "head" and h[4].phase == "fine-tune", "history of both phases")
thaw.check(h[4].val_accuracy ~= nil, "validated every epoch")
thaw.check(#h.groups == 3 and h.groups[1].first == "conv1" and h.groups[3].last == "head", "three groups")
thaw.check(math.abs(h.groups[1].lr * 100 - h.groups[3].lr) < 1e-9, "a 100x spread")
thaw.check(h.bn_frozen, "batch norms frozen on batches of 20")
thaw.check(not m:layer("bn1").trainable and m:layer("conv1").trainable, "the base thawed, batch norms not")

-- lr_find: same predictions before and after, a curve and a suggestion
local before = thaw.evaluate(m, data)
local r = thaw.lr_find(m, data, {steps = 40})
local after = thaw.evaluate(m, data)
thaw.check(before.loss == after.loss, "lr_find put the weights back")
thaw.check(#r.lr == #r.loss and #r.lr >= 5, "a curve of " .. #r.lr .. " steps")
thaw.check(r.suggested >= r.lr[1] and r.suggested <= r.lr[#r.lr], "suggestion inside the sweep")
thaw.check(r.png ~= nil and r.png:match("lr%-find%.png$"), "PNG in the run folder")

local ok, err = pcall(thaw.fine_tune, m, data, {epoch = 3})
thaw.check(not ok and err:find("unknown option 'epoch'", 1, true) ~= nil, tostring(err))
ok, err = pcall(thaw.fine_tune, m, data, {cut = "nope"})
thaw.check(not ok and err:find("no node named 'nope'", 1, true) ~= nil, tostring(err))
print("fine_tune done")
